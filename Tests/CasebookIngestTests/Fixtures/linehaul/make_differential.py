#!/usr/bin/env python3
"""Builds differential.json: user agents run through linehaul's real parser, for Casebook's
Swift port to match case by case. Not run by the tests (it needs linehaul itself):

    PYTHONPATH=/path/to/linehaul-cloud-function python3 make_differential.py

with cattrs and packaging installed, and with the `random.shuffle` in linehaul's
`ParserSet.register` (linehaul/ua/impl.py) disabled so parsers run in registration order, the
order Casebook's port uses. The corpus is hand-picked agents, seeded random mutations of them
and seeded random JSON documents; agents that more than one parser accepts are left out, as
their result in linehaul depends on the shuffle.
"""
import json
import os
import random

import attr
from linehaul.ua import parser

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("OUT", HERE)

FIELDS = {
    ("installer", "name"): "installerName", ("installer", "version"): "installerVersion",
    ("python",): "python", ("implementation", "name"): "implementationName",
    ("implementation", "version"): "implementationVersion", ("distro", "name"): "distroName",
    ("distro", "version"): "distroVersion", ("distro", "id"): "distroID",
    ("distro", "libc", "lib"): "libcLib", ("distro", "libc", "version"): "libcVersion",
    ("system", "name"): "systemName", ("system", "release"): "systemRelease", ("cpu",): "cpu",
    ("openssl_version",): "opensslVersion", ("setuptools_version",): "setuptoolsVersion",
    ("rustc_version",): "rustcVersion", ("ci",): "ci",
}


def flatten(d, path=()):
    out = {}
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, dict):
            out.update(flatten(v, path + (k,)))
        else:
            out[FIELDS[path + (k,)]] = v
    return out


def classify(ua):
    try:
        r = parser.parse(ua)
    except parser.UnknownUserAgentError:
        return {"kind": "unknown"}
    except Exception:
        return {"kind": "rejected"}
    if r is None:
        return {"kind": "ignored"}
    return {"kind": "known", "info": flatten(attr.asdict(r))}


PIP_JSON = ('{"ci":null,"cpu":"armv7l","distro":{"id":"buster","libc":{"lib":"glibc","version":"2.28"},'
            '"name":"Raspbian GNU/Linux","version":"10"},"implementation":{"name":"CPython","version":"3.5.4"},'
            '"installer":{"name":"pip","version":"20.1.1"},"openssl_version":"OpenSSL 1.1.1d  10 Sep 2019",'
            '"python":"3.5.4","setuptools_version":"41.4.0","system":{"name":"Linux","release":"4.19.97-v7l+"}}')

FIXED = [
    # pip >= 6 with odd JSON
    "pip/20.1.1 " + PIP_JSON,
    "pip/20.1.1 " + PIP_JSON + " ",
    "pip/20.1.1 " + PIP_JSON + "\x0b",
    "pip/20.1.1 " + PIP_JSON + "\n",
    "pip/20.1.1  \t " + PIP_JSON,
    "pip/20.1.1\x1f" + PIP_JSON,
    "pip/20.1.1\u3000" + PIP_JSON,
    "pip/20.1.1 \ufeff" + PIP_JSON,
    "pip/19.0.3 no JSON UA", "pip/evil {invalid JSON}", "pip/", "pip/ {}", "pip/experiment-package-gateway",
    "pip/18.0", "pip/18.0 ", "pip/18.0 {}", "pip/18.0 []", "pip/18.0 5", "pip/18.0 null", "pip/18.0 true",
    "pip/18.0 \"abc\"", "pip/18.0 \"python\"", "pip/18.0 \"cpu-name\"", "pip/18.0 [\"cpu\"]", "pip/18.0 [1, 2]",
    "pip/18.0 \x1f0", "pip/18.0 NaN", "pip/18.0 -Infinity", "pip/18.0 {\"python\": NaN}",
    'pip/18.0 {"python": 3.6, "cpu": 1e400, "openssl_version": -0, "setuptools_version": -0.0, "rustc_version": 1e16}',
    'pip/18.0 {"python": 1e-5, "cpu": 0.0001, "openssl_version": 123456789012345678901234567890, "setuptools_version": 2.50}',
    'pip/18.0 {"python": true, "cpu": false, "ci": "false", "openssl_version": [1, "a", null, true, {"b": 2}]}',
    'pip/18.0 {"cpu": {"z": 1, "a": [], "q\'": "it\'s", "d": "say \\"hi\\""}}',
    'pip/18.0 {"cpu": "tab\\there", "python": ["\\u00e9\\u0000\\n\\u007f\\u0085\\u00a0\\u2028\\ud83d\\ude00"]}',
    'pip/18.0 {"ci": 0}', 'pip/18.0 {"ci": 0.0}', 'pip/18.0 {"ci": ""}', 'pip/18.0 {"ci": []}', 'pip/18.0 {"ci": {}}',
    'pip/18.0 {"ci": 2}', 'pip/18.0 {"ci": "no"}', 'pip/18.0 {"ci": null}', 'pip/18.0 {"ci": NaN}',
    'pip/18.0 {"installer": "abc"}', 'pip/18.0 {"installer": "myname"}', 'pip/18.0 {"installer": []}',
    'pip/18.0 {"installer": ["version"]}', 'pip/18.0 {"installer": 1}', 'pip/18.0 {"installer": null}',
    'pip/18.0 {"distro": {"libc": "glibc"}}', 'pip/18.0 {"distro": {"libc": "musl"}}',
    'pip/18.0 {"distro": {"libc": {"lib": "musl", "version": 1.2}}}',
    'pip/18.0 {"python": "2.7", "python": "3.8", "cpu": "x"}', 'pip/18.0 {"cpu": "x",}', 'pip/18.0 [1,]',
    'pip/18.0 {"cpu": 01}', 'pip/18.0 {"cpu": 1.}', 'pip/18.0 {"cpu": .5}', 'pip/18.0 {"cpu": 1e}', 'pip/18.0 {"cpu": 1e+}',
    'pip/18.0 {"cpu": -}', 'pip/18.0 {"cpu": "raw\ttab"}', 'pip/18.0 {"cpu": "\\x41"}', 'pip/18.0 {"cpu": "\\u12"}',
    'pip/18.0 {"cpu": "\\ud83d\\u0041"}', "pip/18.0 {'cpu': 'x'}", 'pip/18.0 {"cpu": "x"} trailing',
    'pip/18.0 {"cpu": "x"} pex/1.0', 'pip/19.0.3 no JSON UA pex/2.0',
    'pip/18.0 {"cpu": "' + "x" * 5000 + '"}', 'pip/18.0 {"cpu": ' + "9" * 4300 + '}', 'pip/18.0 {"cpu": ' + "9" * 4301 + '}',
    "pip/18.0 " + "[" * 900 + "]" * 900, "pip/18.0 " + "[" * 2000 + "]" * 2000,
    # versions around the pip 6 and 1.4 boundaries
    *[f"pip/{v} {{\"cpu\":\"x\"}}" for v in [
        "6", "6.0", "6.0.0", "6.0.dev0", "6.0a1", "6.0rc1", "6.0.post1", "6.0+local", "5.9", "5.9.9.9", "1!1.0",
        "v6", "V7.0", "6.0-1", "6.0.r1", "6.0.rev2", "6.0c1", "6.0preview1", "6.0ALPHA", "6.0_dev3", "6a", "06",
        "6.", ".6", "6..0", "6-", "6+", "6+a.b-c_1", "6+UPPER", "6.0.dev", "6.0.post", "6\u212a", "\u0666",
        "19.0.3", "99999999999999999999999", "0!7", "6.0.0.0.0.0.0.0.1", "six", "6.0-dev", "6_0", "6.0.post1.dev2",
    ]],
    *[f"pip/{v} CPython/2.7.14 Darwin/17.7.0" for v in [
        "1.4", "1.4.1", "1.3.9", "1.4.dev1", "1.4a1", "1.4rc1", "5.9", "5.99.99", "6", "6.0.dev0", "6.0a1",
        "6.0.post1", "5.0+local", "6.0+local", "1.4+local", "1!1.4", "0!1.4", "1.4.post1", "1.3.post5", "bogus",
    ]],
    "pip/1.5.6 unknown/UNKNOWN Unknown/unknown", "pip/1.5.6 PyPy/2.3.1 Linux/3.13.0-24-generic",
    "pip/1.5.6 CPYTHON/2.7.6 Windows/7", "pip/1.5.6 cpython/3.4.0 Linux/3.2", "pip/1.5 CPython/2.7 Darwin/13.0\n",
    "pip/1.5 CPython/2.7 Darwin/13.0\r", "pip/1.5 CPython/2.7 Darwin/13.0\u2028", "pip/1.5  CPython/2.7 Darwin/13.0",
    "pip/1.5 CPython/2.7/x Darwin/13.0", "pip/1.5 CPython/2.7 Darwin/13.0 extra", "pip/1.5 CPython/2.7\x85Darwin/13.0",
    "pip/1.5 Jython/2.7 Java/1.8", "pip/1.5 UN\u212aNOWN/2.7 Linux/1",
    # uv and Hatch
    'uv/0.1.22 {"installer":{"name":"uv","version":"0.1.22"}}', 'uv/0.1.21 {"installer":{"name":"uv"}}',
    'uv/0.1.22', 'uv/not-a-version', 'uv/0.4.0 {"ci":true,"cpu":"x86_64","rustc_version":"1.80.0"}',
    'uv/0.1.22rc1 {}', 'uv/0.1.22.dev0 {}', 'uv/1.0 [ ]', 'uv/0.1.22 {"cpu": "a b c"}',
    'Hatch/1.0 {"cpu": "x y"} HTTPX/0.27', 'Hatch/1.0', 'Hatch/1.0 } {', 'Hatch/1.0 {"a": {"b": 1}} }',
    'Hatch/1.0 {"installer": {"name": "hatch"}} HTTPX/{0.27}', 'Hatch/1.0 {} trailing } brace',
    # the others
    "Python-urllib/2.7", "Python-urllib/2.7\n", "Python-urllib/2.7 ", "Python-urllib/27", "Python-urllib/\u0663.\u0667",
    "Python-urllib/3.6 distribute/0.6.21", "Python-urllib/3.6 setuptools/1.0", "setuptools/1.0 Python-urllib/3.6",
    "pex/1.4.5", "foo pex/1.0", "pex/pex/1.0", "pex/1.0 x", "conda/4.3.16", "conda/4.3.16 requests/2.18.4 CPython/3.6.4",
    "conda/4.3.16 ", "conda/", "Bazel/1.0", "Bazel/release 1.0", "Bazel/release\u3000 2.0", "Bazel/release", "Bazel/",
    "Bazel/1.0\n", "Bazel/1.0\r", "bandersnatch/2.2.1 (cpython 3.7.0-final0, Darwin x86_64)", "bandersnatch/2.2.1 ()",
    "devpi-server/4.6.0 (py3.7.0; darwin)", "proxy devpi-server/4.6.0 (x)", "z3c.pypimirror/1.5.6", "z3cXpypimirror/1.5.6",
    "Artifactory/1.7.4", "Artifactory/1.7.4 x", "Nexus/3.6.0-02 (OSS; Linux)", "Nexus/", "pep381client/1.0.1",
    "pep381client-proxy/0.5.6", "maturin/0.8.0-alpha.2", "maturin/1.0 x", "pdm/2.1.6.dev32+g1e5dc62 CPython/3.11.0",
    "pdm/2.1 CPython/3.11/x", "poetry/1.1.11 CPython/3.9.2 Linux/5.10.16.3-microsoft-standard-WSL2",
    "poetry/1.1.11 CPython/3.9.2 Linux/", "poetry/1.1.11 CPython/3.9.2 Linux", "twine/4.0.2 CPython/3.9.16",
    "twine/3.8.0 pkginfo/1.9.6 requests/2.27.1 CPython/3.9.16", "twine/1.0 x y z PyPy/7.3", "twine/1.0",
    "python-requests/2.22.0", "python-requests/2.7.0 CPython/3.7.0 Darwin/17.7.0", "python-requests/",
    "Homebrew/0.9.9 (Macintosh; Intel macOS 10.12.0) curl/7.43.0", "Homebrew/1.0 (Macintosh; Intel Mac OS X 10.9)",
    "Homebrew/1.0 (Linux; x86_64)", "fetch libfetch/2.0", "libfetch/2.0", "OpenBSD ftp", "MacPorts", "MacPorts/2.5",
    "NetBSD-ftp/20180428", "slapt-get/0.10", "pypi-install/0.1", "slackrepo", "PTXdist", "GARstow/1", "xbps/0.59",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:15.0) Gecko/20100101 Firefox/15.0.1", "mozilla", "MOZILLA/4.0",
    "Mozillax/5.0", "Wget/1.20.3 (linux-gnu)", "curl/7.64.0", "curl", "Opera/9.80", "aria2/1.34.0",
    "AndroidDownloadManager/9", "com.apple.WebKit.Networking/8614", "FDM 3.x/1.0", "FDM x", "URL/Emacs",
    "Firefox/60.0", "UCWEB/2.0", "Links (2.1; Linux)", "Links", "okhttp/3.12.1", "Apache-HttpClient/4.5.2 (Java/1.8)",
    "Li\u212ans", "\u0130ceweasel", "Mozi\u0131la/5.0", "Safar\u0131/1", "aria\u0032", "\ufb01refox/1", "Saf\u0131ri",
    "Datadog Agent/5.10.1", "(null)", "(null)\n", "(null) ", "WordPress/4.9", "Chef Client/12", "Chef Knife/12", "Ruby",
    "Slackbot-LinkExpanding 1.0", "TextualInlineMedia/1.0", "WeeChat/2.0", "Download Master", "Java/1.8.0_144",
    "Go 1.1 package http", "Go-http-client/1.1", "GNU Guile", "github-olee", "YisouSpider", "Apache Ant/1.10",
    "Salt/2018", "ansible-httpget", "ltx71 - (http://ltx71.com/)", "ltx71 - (http://ltx71xcom/)", "Scrapy/1.5",
    "spectool/1", "Apache Nutch/1.x", "AWSBrewLinkChecker/1", "Y!J-ASR/0.1", "NSIS_Inetc (Mozilla)", "Debian uscan 2.18",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", "MauiBot (crawler.feedback+dc@gmail.com)",
    "inspector.pypi.io", "Mythic HTTP monitor check", "", " ", "\n", "\x00", "pip", "PIP/18.0 {}", "uv", "hatch/1.0 {}",
    "Googlebot/2.1", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (compatible; Googlebot/2.1)",
]


# Random but valid JSON documents in pip, uv and Hatch agents: exercises how linehaul turns
# values into text (str() of numbers, lists, dicts, odd characters) and when it rejects them.
FIELD_NAMES = ["python", "cpu", "ci", "openssl_version", "setuptools_version", "rustc_version", "installer",
               "implementation", "distro", "system", "user_data", "name", "version", "lib", "libc", "release", "id"]


def random_text(rng):
    pool = ("abc xyz'\"\\\t\n\x00\x1f\x7f\x85\xa0\u2028\u00e9\u0301\u200b\ue000\U0001f600\U000e0001"
            "\ufeff\u0378nameversionlib")
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, 8)))


def random_number(rng):
    r = rng.random()
    if r < 0.3:
        return rng.randint(-10 ** rng.randint(0, 25), 10 ** rng.randint(0, 25))
    if r < 0.6:
        return rng.uniform(-1e3, 1e3)
    if r < 0.8:
        return rng.choice([0.0, -0.0, 1e16, 1e15, 1e-5, 1e-4, 123456789.123, 1.5e300, 5e-324, 2.5, 0.1, 1e22])
    return 10.0 ** rng.randint(-30, 30) * rng.choice([1, -1, 3.3])


def random_value(rng, depth=0):
    r = rng.random()
    if depth > 3 or r < 0.35:
        return random_text(rng)
    if r < 0.55:
        return random_number(rng)
    if r < 0.62:
        return rng.choice([True, False, None])
    if r < 0.8:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(FIELD_NAMES + [random_text(rng)]): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_json_agent(rng):
    prefix = rng.choice(["pip/20.0 ", "uv/0.2.0 ", "Hatch/1.0 "])
    if rng.random() < 0.9:
        doc = {rng.choice(FIELD_NAMES): random_value(rng) for _ in range(rng.randint(1, 6))}
    else:
        doc = random_value(rng)
    body = json.dumps(doc, ensure_ascii=rng.random() < 0.5, allow_nan=True,
                      separators=rng.choice([(",", ":"), (", ", ": ")]))
    return prefix + body + (" HTTPX/1" if prefix.startswith("Hatch") else "")


def mutate(rng, s):
    alphabet = list(' \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000{}[]":,\\/.-_+!0123456789aeEpvrcdNI()\u0301\u212a\u0130\ufeff\U0001f600') + ["null", "pip/", "pex/1", "\\u", "\\ud800"]
    chars = list(s)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.4:
            chars.insert(pos, rng.choice(alphabet))
        elif op < 0.7 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(alphabet)
    return "".join(chars)


def accepting_parsers(ua):
    names = []
    for p in parser._parser._parsers:
        try:
            p(ua)
            names.append(p.name)
        except Exception:
            pass
    return names


def has_surrogate(value):
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(has_surrogate(v) for v in value.values())
    return False


def main():
    rng = random.Random(int(os.environ.get("SEED", "20200304")))
    bases = [u for u in FIXED if len(u) < 600]
    corpus = list(dict.fromkeys(FIXED))
    seen = set(corpus)
    while len(corpus) < int(os.environ.get("COUNT", "1600")):
        ua = mutate(rng, rng.choice(bases))
        if ua not in seen:
            seen.add(ua)
            corpus.append(ua)
    json_rng = random.Random(1)
    target = len(corpus) + int(os.environ.get("JSON_COUNT", "600"))
    while len(corpus) < target:
        ua = random_json_agent(json_rng)
        if ua not in seen:
            seen.add(ua)
            corpus.append(ua)
    cases = []
    for ua in corpus:
        result = classify(ua)
        if has_surrogate(ua) or has_surrogate(result):
            continue  # a Swift String cannot hold a lone surrogate
        if len(accepting_parsers(ua)) > 1:
            continue  # the result depends on ParserSet's random order
        cases.append({"ua": ua, "expected": result})
    with open(os.path.join(OUT, "differential.json"), "w", encoding="utf-8") as fp:
        json.dump({"generatedBy": "make_differential.py", "cases": cases}, fp, indent=0, ensure_ascii=True)
        fp.write("\n")
    kinds = {}
    for c in cases:
        kinds[c["expected"]["kind"]] = kinds.get(c["expected"]["kind"], 0) + 1
    print(len(cases), "cases", kinds)


if __name__ == "__main__":
    main()
