//! ANSI colours for `jsonc`/`yamlc`, in the palette az gets from Pygments'
//! TerminalFormatter: keys bright blue, strings yellow-brown, other literals blue.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paint {
    Plain,
    Ansi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Key,
    String,
    Literal,
}

const RESET: &str = "\x1b[39;49;00m";

impl Paint {
    pub(crate) fn start(self, style: Style) -> &'static str {
        match (self, style) {
            (Paint::Plain, _) => "",
            (Paint::Ansi, Style::Key) => "\x1b[94m",
            (Paint::Ansi, Style::String) => "\x1b[33m",
            (Paint::Ansi, Style::Literal) => "\x1b[34m",
        }
    }

    pub(crate) fn end(self) -> &'static str {
        match self {
            Paint::Plain => "",
            Paint::Ansi => RESET,
        }
    }

    pub(crate) fn push(self, out: &mut String, style: Style, text: &str) {
        out.push_str(self.start(style));
        out.push_str(text);
        out.push_str(self.end());
    }
}
