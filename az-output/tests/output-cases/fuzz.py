"""Writes a batch of random cases rendered by knack, for a differential check:

    /tmp/knack/bin/python fuzz.py SEED COUNT OUTDIR
    OUTPUT_CASES_DIR=OUTDIR cargo test -p az-hpccache-ext cases_from_output_cases_dir

Known differences it turns up: a computed integer equal to an integral float of the
input prints as that float (e.g. length() == 1 with a 1.0 in the data), to_string() of
an integral float drops its `.0`, and tabulate's "separating line" quirk for a first
cell of exactly "\\x01".
"""
import collections
import json
import os
import random
import sys

from generate import render

random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
OUT = sys.argv[3] if len(sys.argv) > 3 else '/tmp/output-fuzz'
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    if f.endswith(('.args', '.out', '.input.json')):
        os.remove(os.path.join(OUT, f))
ALPH = list("abcXYZ019 :#-?'\"\t\n,[]{}*&!|>%@`~.=<") + ['é', 'ü', '✓', '🙂', '\x85', '\u2028', '\xa0', '\x7f', '\x01', '\r', '\ufeff']
WORDS = ['yes', 'no', 'true', 'null', '~', '123', '0x1F', '1.5', '1:30', '2024-01-31', '- x', 'a: b', '', ' ', 'On', '.inf', '<<', '=', '---', '...', '10.0.0.4']
def rstr(maxlen=30):
    r = random.random()
    if r < 0.25: return random.choice(WORDS)
    if r < 0.45:
        return ' '.join(random.choice(['word', 'a', 'longer', 'x:y', 'q#', "it's", 'tab\t']) for _ in range(random.randint(1, 40)))
    n = random.randint(0, maxlen)
    return ''.join(random.choice(ALPH) if random.random() < 0.5 else random.choice('abcdefgh ') for _ in range(n))
def rscalar():
    r = random.random()
    if r < 0.4: return rstr()
    if r < 0.55: return random.randint(-10**6, 10**12)
    if r < 0.7: return random.choice([0.1, 1.0, 2.5, 1e16, 1e-5, -3.75, 123456.789, 1e300])
    if r < 0.85: return random.choice([True, False])
    return None
def rkey():
    return rstr(12) if random.random() < 0.3 else random.choice(['name', 'id', 'type', 'etag', 'location', 'size', 'tags', 'Name', 'zone', 'k' * random.randint(100, 130)])
def rvalue(depth=0):
    r = random.random()
    if depth > 3 or r < 0.5: return rscalar()
    if r < 0.75: return [rvalue(depth + 1) for _ in range(random.randint(0, 4))]
    return collections.OrderedDict((rkey(), rvalue(depth + 1)) for _ in range(random.randint(0, 5)))
n = 0
for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 400):
    data = rvalue() if random.random() < 0.3 else [collections.OrderedDict((rkey(), rvalue(2)) for _ in range(random.randint(0, 6))) for _ in range(random.randint(0, 4))]
    fmt = random.choice(['json', 'yaml', 'table', 'tsv'])
    args = ['-o', fmt]
    if random.random() < 0.4:
        args += ['--query', random.choice(['[].{Zone:zone, Name:name, S:size}', '[0]', '[].name', 'length(@)',
            '[?size > `5`]', '[].[name, size, tags]', '[].tags', '@', '[*].{b: location, a: id}', '[].keys(@)',
            '[?name].name | sort(@)', '[].not_null(name, size)', '[-1]', '[:2]', '[].size | [?@ != null]',
            'join(`,`, [?type(name)==`string`].name)', 'map(&type(@), @)', '[].to_string(size)', '{first: [0], n: length(@)}'])]
    # Tables of real az results repr nested dicts as plain dicts; tsv needs the
    # ordered input the golden cases use.
    hook = collections.OrderedDict if fmt == 'tsv' else None
    try:
        out = render(json.loads(json.dumps(data), object_pairs_hook=hook), args)
    except Exception as e:
        continue
    name = 'c%04d' % i
    with open(os.path.join(OUT, name + '.input.json'), 'w', encoding='utf-8') as f: json.dump(data, f, ensure_ascii=False)
    with open(os.path.join(OUT, name + '.args'), 'w') as f: json.dump(args, f)
    with open(os.path.join(OUT, name + '.out'), 'w', encoding='utf-8', newline='') as f: f.write(out)
    n += 1
print(n, 'cases')
