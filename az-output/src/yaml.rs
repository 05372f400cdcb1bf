//! `-o yaml`: `yaml.safe_dump(result, default_flow_style=False, allow_unicode=True)`.
//!
//! A port of the parts of PyYAML's emitter that a JSON value reaches. serde-saphyr's
//! serializer cannot be configured to match it byte for byte: PyYAML quotes by YAML 1.1
//! implicit types (`'yes'`, `'0777'`, `'1:30'`, `'2024-01-01'`), folds long scalars at
//! column 80, writes `...` after a plain root scalar and turns keys of 123+ characters
//! into `? ` complex keys.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::color::{Paint, Style as Color};
use super::python;

const BEST_INDENT: usize = 2;
const BEST_WIDTH: usize = 80;

pub(crate) fn render(value: &Value, paint: Paint) -> String {
    let mut events = vec![Event::StreamStart, Event::DocumentStart];
    push_node_events(&mut events, value);
    events.push(Event::DocumentEnd);
    events.push(Event::StreamEnd);
    let mut emitter = Emitter::new(paint);
    for i in 0..events.len() {
        emitter.step(&events[i], events.get(i + 1));
    }
    emitter.out
}

#[derive(Debug)]
enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Scalar(Scalar),
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
}

#[derive(Debug)]
struct Scalar {
    value: String,
    /// The `!!` tag suffix; `None` for strings.
    tag: Option<&'static str>,
    /// PyYAML's `implicit[0]`: the value reads back as its own type when written plain.
    plain_implicit: bool,
}

impl Scalar {
    fn typed(tag: &'static str, value: String) -> Self {
        Scalar {
            value,
            tag: Some(tag),
            plain_implicit: true,
        }
    }

    fn string(value: &str) -> Self {
        Scalar {
            value: value.to_owned(),
            tag: None,
            plain_implicit: resolves_to_str(value),
        }
    }

    /// PyYAML's `implicit[1]`: a quoted form needs no tag (true only for strings).
    fn quoted_implicit(&self) -> bool {
        self.tag.is_none()
    }
}

fn push_node_events(events: &mut Vec<Event>, value: &Value) {
    match value {
        Value::Null => events.push(Event::Scalar(Scalar::typed("null", "null".to_owned()))),
        Value::Bool(b) => events.push(Event::Scalar(Scalar::typed("bool", b.to_string()))),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            events.push(Event::Scalar(Scalar::typed("float", float_text(f))));
        }
        Value::Number(n) => events.push(Event::Scalar(Scalar::typed("int", n.to_string()))),
        Value::String(s) => events.push(Event::Scalar(Scalar::string(s))),
        Value::Array(items) => {
            events.push(Event::SequenceStart);
            items.iter().for_each(|item| push_node_events(events, item));
            events.push(Event::SequenceEnd);
        }
        Value::Object(map) => {
            events.push(Event::MappingStart);
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (key, item) in entries {
                events.push(Event::Scalar(Scalar::string(key)));
                push_node_events(events, item);
            }
            events.push(Event::MappingEnd);
        }
    }
}

/// SafeRepresenter.represent_float: `repr()` lower-cased, with `.0` put before a bare
/// exponent so the text still reads back as a float.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let text = python::float_repr(f).to_lowercase();
    if !text.contains('.') && text.contains('e') {
        text.replacen('e', ".0e", 1)
    } else {
        text
    }
}

/// PyYAML's YAML 1.1 implicit resolvers: a string matching any of them must be quoted.
fn resolves_to_str(value: &str) -> bool {
    static RESOLVERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        [
            // bool
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            // float
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            // int
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            // merge
            r"^(?:<<)$",
            // null
            r"^(?:~|null|Null|NULL|)$",
            // timestamp
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            // value
            r"^(?:=)$",
            // yaml
            r"^(?:!|&|\*)$",
        ]
        .iter()
        .map(|re| Regex::new(re).expect("static resolver pattern"))
        .collect()
    });
    !RESOLVERS.iter().any(|re| re.is_match(value))
}

#[derive(Debug, Default)]
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<&char>) -> bool {
    match c {
        None => true,
        Some(c) => matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(*c),
    }
}

/// Emitter.analyze_scalar, minus the block styles PyYAML never picks for plain data.
fn analyze(text: &[char]) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;

    let starts_with = |p: &str| text.iter().take(3).copied().eq(p.chars());
    if starts_with("---") || starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = text.len() == 1 || is_blank_or_end(text.get(1));
    let mut previous_space = false;
    let mut previous_break = false;

    for (index, &ch) in text.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_indicators = true;
                block_indicators = true;
            }
            if ch == '?' || ch == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if ch == '-' && followed_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_indicators = true;
            }
            if ch == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if ch == '#' && preceded_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        }

        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || ('\x20'..='\x7e').contains(&ch)) {
            // allow_unicode=True: printable non-ASCII stays as it is.
            let printable = (ch == '\u{85}'
                || ('\u{a0}'..='\u{d7ff}').contains(&ch)
                || ('\u{e000}'..='\u{fffd}').contains(&ch)
                || ('\u{10000}'..'\u{10ffff}').contains(&ch))
                && ch != '\u{feff}';
            if !printable {
                special_characters = true;
            }
        }

        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == text.len() - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            if index == 0 {
                leading_break = true;
            }
            if index == text.len() - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }

        preceded_by_whitespace = is_blank_or_end(Some(&ch));
        followed_by_whitespace = index + 2 >= text.len() || is_blank_or_end(text.get(index + 2));
    }

    let mut allow_flow_plain = true;
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_flow_plain = false;
        allow_block_plain = false;
    }
    if break_space {
        allow_flow_plain = false;
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special_characters {
        allow_flow_plain = false;
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks {
        allow_flow_plain = false;
        allow_block_plain = false;
    }
    if flow_indicators {
        allow_flow_plain = false;
    }
    if block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain,
        allow_block_plain,
        allow_single_quoted,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarStyle {
    Plain,
    Single,
    Double,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StreamStart,
    FirstDocumentStart,
    DocumentStart,
    DocumentRoot,
    DocumentEnd,
    Nothing,
    FirstFlowSequenceItem,
    FlowSequenceItem,
    FirstFlowMappingKey,
    FlowMappingKey,
    FlowMappingSimpleValue,
    FlowMappingValue,
    FirstBlockSequenceItem,
    BlockSequenceItem,
    FirstBlockMappingKey,
    BlockMappingKey,
    BlockMappingSimpleValue,
    BlockMappingValue,
}

#[derive(Debug, Clone, Copy, Default)]
struct Context {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

const ROOT: Context = Context {
    root: true,
    mapping: false,
    simple_key: false,
};
const IN_SEQUENCE: Context = Context {
    root: false,
    mapping: false,
    simple_key: false,
};
const IN_MAPPING: Context = Context {
    root: false,
    mapping: true,
    simple_key: false,
};
const SIMPLE_KEY: Context = Context {
    root: false,
    mapping: true,
    simple_key: true,
};

/// PyYAML's Emitter state machine, fed one event at a time with one event of lookahead.
struct Emitter {
    out: String,
    paint: Paint,
    states: Vec<State>,
    state: State,
    indents: Vec<Option<usize>>,
    indent: Option<usize>,
    flow_level: usize,
    context: Context,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
}

impl Emitter {
    fn new(paint: Paint) -> Self {
        Emitter {
            out: String::new(),
            paint,
            states: Vec::new(),
            state: State::StreamStart,
            indents: Vec::new(),
            indent: None,
            flow_level: 0,
            context: Context::default(),
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
        }
    }

    fn step(&mut self, event: &Event, next: Option<&Event>) {
        match self.state {
            State::StreamStart => self.state = State::FirstDocumentStart,
            State::FirstDocumentStart | State::DocumentStart => {
                if matches!(event, Event::DocumentStart) {
                    // No version, tags or explicit start: the `---` stays implicit.
                    self.state = State::DocumentRoot;
                } else {
                    if self.open_ended {
                        self.write_indicator("...", true, false, false);
                        self.write_indent();
                    }
                    self.state = State::Nothing;
                }
            }
            State::DocumentRoot => {
                self.states.push(State::DocumentEnd);
                self.expect_node(ROOT, event, next);
            }
            State::DocumentEnd => {
                self.write_indent();
                self.state = State::DocumentStart;
            }
            State::Nothing => {}
            State::FirstFlowSequenceItem | State::FlowSequenceItem => {
                if matches!(event, Event::SequenceEnd) {
                    self.pop_indent();
                    self.flow_level -= 1;
                    self.write_indicator("]", false, false, false);
                    self.pop_state();
                } else {
                    if self.state == State::FlowSequenceItem {
                        self.write_indicator(",", false, false, false);
                    }
                    if self.column > BEST_WIDTH {
                        self.write_indent();
                    }
                    self.states.push(State::FlowSequenceItem);
                    self.expect_node(IN_SEQUENCE, event, next);
                }
            }
            State::FirstFlowMappingKey | State::FlowMappingKey => {
                if matches!(event, Event::MappingEnd) {
                    self.pop_indent();
                    self.flow_level -= 1;
                    self.write_indicator("}", false, false, false);
                    self.pop_state();
                } else {
                    if self.state == State::FlowMappingKey {
                        self.write_indicator(",", false, false, false);
                    }
                    if self.column > BEST_WIDTH {
                        self.write_indent();
                    }
                    if check_simple_key(event, next) {
                        self.states.push(State::FlowMappingSimpleValue);
                        self.expect_node(SIMPLE_KEY, event, next);
                    } else {
                        self.write_indicator("?", true, false, false);
                        self.states.push(State::FlowMappingValue);
                        self.expect_node(IN_MAPPING, event, next);
                    }
                }
            }
            State::FlowMappingSimpleValue => {
                self.write_indicator(":", false, false, false);
                self.states.push(State::FlowMappingKey);
                self.expect_node(IN_MAPPING, event, next);
            }
            State::FlowMappingValue => {
                if self.column > BEST_WIDTH {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
                self.states.push(State::FlowMappingKey);
                self.expect_node(IN_MAPPING, event, next);
            }
            State::FirstBlockSequenceItem | State::BlockSequenceItem => {
                if self.state == State::BlockSequenceItem && matches!(event, Event::SequenceEnd) {
                    self.pop_indent();
                    self.pop_state();
                } else {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.states.push(State::BlockSequenceItem);
                    self.expect_node(IN_SEQUENCE, event, next);
                }
            }
            State::FirstBlockMappingKey | State::BlockMappingKey => {
                if self.state == State::BlockMappingKey && matches!(event, Event::MappingEnd) {
                    self.pop_indent();
                    self.pop_state();
                } else {
                    self.write_indent();
                    if check_simple_key(event, next) {
                        self.states.push(State::BlockMappingSimpleValue);
                        self.expect_node(SIMPLE_KEY, event, next);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.states.push(State::BlockMappingValue);
                        self.expect_node(IN_MAPPING, event, next);
                    }
                }
            }
            State::BlockMappingSimpleValue => {
                self.write_indicator(":", false, false, false);
                self.states.push(State::BlockMappingKey);
                self.expect_node(IN_MAPPING, event, next);
            }
            State::BlockMappingValue => {
                self.write_indent();
                self.write_indicator(":", true, false, true);
                self.states.push(State::BlockMappingKey);
                self.expect_node(IN_MAPPING, event, next);
            }
        }
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::Nothing);
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(BEST_INDENT),
            None => Some(0),
            Some(i) if indentless => Some(i),
            Some(i) => Some(i + BEST_INDENT),
        };
    }

    fn expect_node(&mut self, context: Context, event: &Event, next: Option<&Event>) {
        self.context = context;
        match event {
            Event::Scalar(scalar) => {
                let chars: Vec<char> = scalar.value.chars().collect();
                let analysis = analyze(&chars);
                let style = self.choose_scalar_style(scalar, &analysis);
                let implicit = match style {
                    ScalarStyle::Plain => scalar.plain_implicit,
                    _ => scalar.quoted_implicit(),
                };
                if !implicit {
                    let tag = format!("!!{}", scalar.tag.unwrap_or("str"));
                    self.write_indicator(&tag, true, false, false);
                }
                self.increase_indent(true, false);
                self.process_scalar(&chars, style);
                self.pop_indent();
                self.pop_state();
            }
            Event::SequenceStart => {
                let empty = next.is_some_and(|e| matches!(e, Event::SequenceEnd));
                if self.flow_level > 0 || empty {
                    self.write_indicator("[", true, true, false);
                    self.flow_level += 1;
                    self.increase_indent(true, false);
                    self.state = State::FirstFlowSequenceItem;
                } else {
                    let indentless = self.context.mapping && !self.indention;
                    self.increase_indent(false, indentless);
                    self.state = State::FirstBlockSequenceItem;
                }
            }
            Event::MappingStart => {
                let empty = next.is_some_and(|e| matches!(e, Event::MappingEnd));
                if self.flow_level > 0 || empty {
                    self.write_indicator("{", true, true, false);
                    self.flow_level += 1;
                    self.increase_indent(true, false);
                    self.state = State::FirstFlowMappingKey;
                } else {
                    self.increase_indent(false, false);
                    self.state = State::FirstBlockMappingKey;
                }
            }
            // The event stream is built from a JSON value, so nothing else comes here.
            _ => {}
        }
    }

    fn choose_scalar_style(&self, scalar: &Scalar, analysis: &Analysis) -> ScalarStyle {
        let simple_key = self.context.simple_key;
        if scalar.plain_implicit
            && !(simple_key && (analysis.empty || analysis.multiline))
            && ((self.flow_level > 0 && analysis.allow_flow_plain)
                || (self.flow_level == 0 && analysis.allow_block_plain))
        {
            return ScalarStyle::Plain;
        }
        if analysis.allow_single_quoted && !(simple_key && analysis.multiline) {
            return ScalarStyle::Single;
        }
        ScalarStyle::Double
    }

    fn process_scalar(&mut self, text: &[char], style: ScalarStyle) {
        let split = !self.context.simple_key;
        let color = if self.context.simple_key {
            Some(Color::Key)
        } else if style != ScalarStyle::Plain {
            Some(Color::String)
        } else {
            None
        };
        if let Some(color) = color.filter(|_| self.paint == Paint::Ansi) {
            // Every writer starts with this separating space; keep it outside the colour.
            if !self.whitespace {
                self.write_raw(" ");
                self.whitespace = true;
            }
            self.out.push_str(self.paint.start(color));
        }
        match style {
            ScalarStyle::Plain => self.write_plain(text, split),
            ScalarStyle::Single => self.write_single_quoted(text, split),
            ScalarStyle::Double => self.write_double_quoted(text, split),
        }
        if color.is_some() {
            self.out.push_str(self.paint.end());
        }
    }

    // Writers. Colour codes go straight to `out` and never count towards `column`.

    fn write_raw(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_chars(&mut self, data: &[char]) {
        self.column += data.len();
        self.out.extend(data.iter());
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.write_raw(" ");
        }
        self.write_raw(indicator);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write_raw(&pad);
        }
    }

    fn write_line_break(&mut self, data: Option<char>) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(data.unwrap_or('\n'));
    }

    fn write_breaks(&mut self, breaks: &[char]) {
        for &br in breaks {
            self.write_line_break(Some(br));
        }
    }

    fn write_plain(&mut self, text: &[char], split: bool) {
        if self.context.root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write_raw(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let mut spaces = false;
        let mut breaks = false;
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > BEST_WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if text[start] == '\n' {
                        self.write_line_break(None);
                    }
                    self.write_breaks(&text[start..end]);
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > BEST_WIDTH
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if text[start] == '\n' {
                        self.write_line_break(None);
                    }
                    self.write_breaks(&text[start..end]);
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write_raw("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            let needs_escape = ch.is_none_or(|c| {
                "\"\\\u{85}\u{2028}\u{2029}\u{feff}".contains(c)
                    || !(('\x20'..='\x7e').contains(&c)
                        || ('\u{a0}'..='\u{d7ff}').contains(&c)
                        || ('\u{e000}'..='\u{fffd}').contains(&c))
            });
            if needs_escape {
                if start < end {
                    self.write_chars(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    self.write_raw(&double_quoted_escape(c));
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(' ') || start >= end)
                && self.column + end.saturating_sub(start) > BEST_WIDTH
                && split
            {
                let mut data: String = text[start.min(end)..end].iter().collect();
                data.push('\\');
                if start < end {
                    start = end;
                }
                self.write_raw(&data);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text[start] == ' ' {
                    self.write_raw("\\");
                }
            }
            end += 1;
        }
        self.write_indicator("\"", false, false, false);
    }
}

fn double_quoted_escape(c: char) -> String {
    match c {
        '\0' => "\\0".to_owned(),
        '\x07' => "\\a".to_owned(),
        '\x08' => "\\b".to_owned(),
        '\x09' => "\\t".to_owned(),
        '\x0a' => "\\n".to_owned(),
        '\x0b' => "\\v".to_owned(),
        '\x0c' => "\\f".to_owned(),
        '\x0d' => "\\r".to_owned(),
        '\x1b' => "\\e".to_owned(),
        '"' => "\\\"".to_owned(),
        '\\' => "\\\\".to_owned(),
        '\u{85}' => "\\N".to_owned(),
        '\u{a0}' => "\\_".to_owned(),
        '\u{2028}' => "\\L".to_owned(),
        '\u{2029}' => "\\P".to_owned(),
        c if (c as u32) <= 0xff => format!("\\x{:02X}", c as u32),
        c if (c as u32) <= 0xffff => format!("\\u{:04X}", c as u32),
        c => format!("\\U{:08X}", c as u32),
    }
}

/// Emitter.check_simple_key for a mapping key: short (its `!!str`-style tag counts
/// towards the limit), not empty and on one line.
fn check_simple_key(event: &Event, next: Option<&Event>) -> bool {
    match event {
        Event::Scalar(scalar) => {
            let tag_len = 2 + scalar.tag.unwrap_or("str").len();
            let chars: Vec<char> = scalar.value.chars().collect();
            let analysis = analyze(&chars);
            tag_len + chars.len() < 128 && !analysis.empty && !analysis.multiline
        }
        Event::SequenceStart => next.is_some_and(|e| matches!(e, Event::SequenceEnd)),
        Event::MappingStart => next.is_some_and(|e| matches!(e, Event::MappingEnd)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(v: &Value) -> String {
        render(v, Paint::Plain)
    }

    #[test]
    fn block_style_sorted_indentless_sequences() {
        let v = json!({"name": "st", "junctions": [{"targetPath": "/", "namespacePath": "/p"}],
                       "tags": null, "empty": [], "obj": {}, "n": 1, "f": 2.5, "ok": true});
        assert_eq!(
            plain(&v),
            "empty: []\nf: 2.5\njunctions:\n- namespacePath: /p\n  targetPath: /\n\
             n: 1\nname: st\nobj: {}\nok: true\ntags: null\n"
        );
    }

    #[test]
    fn root_scalars_and_empties() {
        assert_eq!(plain(&json!("abc")), "abc\n...\n");
        assert_eq!(plain(&json!(5)), "5\n...\n");
        assert_eq!(plain(&json!(null)), "null\n...\n");
        assert_eq!(plain(&json!("true")), "'true'\n");
        assert_eq!(plain(&json!([])), "[]\n");
        assert_eq!(plain(&json!({})), "{}\n");
        assert_eq!(plain(&json!([[1, 2], []])), "- - 1\n  - 2\n- []\n");
    }

    #[test]
    fn quoting_follows_pyyaml() {
        let cases = [
            ("plain", "plain"),
            ("", "''"),
            ("true", "'true'"),
            ("yes", "'yes'"),
            ("Off", "'Off'"),
            ("null", "'null'"),
            ("~", "'~'"),
            ("123", "'123'"),
            ("0777", "'0777'"),
            ("0x1F", "'0x1F'"),
            ("1.5", "'1.5'"),
            ("1e5", "1e5"),
            ("1.0e+5", "'1.0e+5'"),
            (".inf", "'.inf'"),
            ("1:30", "'1:30'"),
            ("2024-01-31", "'2024-01-31'"),
            ("10.0.0.4", "10.0.0.4"),
            ("a: b", "'a: b'"),
            ("a:b", "a:b"),
            ("a #b", "'a #b'"),
            ("a#b", "a#b"),
            ("- x", "'- x'"),
            ("-x", "-x"),
            ("*x", "'*x'"),
            ("@x", "'@x'"),
            ("{x}", "'{x}'"),
            ("x]", "x]"),
            ("?x", "?x"),
            ("? x", "'? x'"),
            ("---", "'---'"),
            (" lead", "' lead'"),
            ("trail ", "'trail '"),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
            ("a\tb", "\"a\\tb\""),
            ("line1\nline2", "'line1\n\n  line2'"),
            ("ünïcode", "ünïcode"),
            ("<<", "'<<'"),
            ("=", "'='"),
        ];
        for (input, want) in cases {
            assert_eq!(
                plain(&json!({"k": input})),
                format!("k: {want}\n"),
                "{input:?}"
            );
        }
    }

    #[test]
    fn long_values_fold_at_eighty_columns() {
        let words = "word ".repeat(20);
        let v = json!({"description": words.trim_end()});
        assert_eq!(
            plain(&v),
            "description: word word word word word word word word word word word word word word\n  \
             word word word word word word\n"
        );
    }

    #[test]
    fn long_keys_become_complex_keys() {
        let short = "k".repeat(122);
        let long = "k".repeat(123);
        assert_eq!(plain(&json!({short.clone(): 1})), format!("{short}: 1\n"));
        assert_eq!(plain(&json!({long.clone(): 1})), format!("? {long}\n: 1\n"));
        assert_eq!(plain(&json!({"": 1})), "? ''\n: 1\n");
    }

    #[test]
    fn floats_keep_a_dot() {
        assert_eq!(plain(&json!({"f": 1e16})), "f: 1.0e+16\n");
        assert_eq!(plain(&json!({"f": 1e-5})), "f: 1.0e-05\n");
        assert_eq!(plain(&json!({"f": 3.0})), "f: 3.0\n");
    }
}
