//! The part of Go's text/template that docker's `--format` flags are used with, rendered
//! against `serde_json::Value`s: the command builds the value with the field names docker
//! documents, so the same template gives the same output.
//!
//! Supported:
//! - text, and actions `{{PIPELINE}}` whose value is printed as Go prints it (`[a b]` for
//!   a list, `map[k:v]` for a map, `<nil>` for null);
//! - operands: `.`, `.A.B` fields, `$` (the root value), `$x` and `$x.A` variables,
//!   `(PIPELINE)` and `(PIPELINE).A.B`, strings (`"…"` with Go escapes, raw `` `…` ``),
//!   numbers (`1`, `-2`, `0x1f`, `1.5`, `1e3`), characters (`'a'`), `true`, `false`, `nil`;
//! - pipelines `A | B | C`, each result passed as the last argument of the next command;
//!   `$x := PIPELINE` declarations and `$x = PIPELINE` assignments;
//! - `{{if P}}…{{else if P}}…{{else}}…{{end}}`, `{{with P}}…{{else with P}}…{{else}}…{{end}}`,
//!   `{{range P}}…{{else}}…{{end}}` over lists, maps (in key order) and integers, with
//!   `{{range $v := P}}`, `{{range $k, $v := P}}`, `{{break}}` and `{{continue}}`, using Go's
//!   truthiness (false, 0, "", null and empty lists or maps are false);
//! - the functions docker registers, `json`, `upper`, `lower`, `title`, `split`, `join`,
//!   `truncate`, `pad`, and Go's `index` (several keys), `slice`, `len`, `print`, `printf`
//!   (verbs `v s d q x X o b c t e E f F g G U %`, flags `-+# 0`, widths and precisions, also
//!   `*`), `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or` (short-circuit) and `not`;
//! - `{{.Label "key"}}`: a field holding a map, looked up by key, as docker's `Label` method;
//! - trimming with `{{- ` and ` -}}`, comments `{{/* … */}}`;
//! - a `table` prefix (a header row and aligned columns, see [`super::table`]) and the
//!   escapes `\t` and `\n` in the text, which docker turns into a tab and a newline (in
//!   quoted strings inside actions, Go's own escapes read them the same way).
//!
//! A field missing from an object is an error when printed or passed to a function, but
//! false (or empty) in the condition of `if`, `with` and `range` and for `not`, `and` and
//! `or`, as the nil pointers and empty fields docker's JSON omits are in Go; `index` of a
//! missing key gives "". Not supported: `define`, `template`, `block`, `call`, `html`, `js`,
//! `urlquery`, methods other than `Label`, and complex numbers.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// A parsed `--format` template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    table: bool,
    nodes: Vec<Node>,
}

/// A node of the parsed template.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    /// An action printing its pipeline's value (nothing when it declares a variable).
    Action(Pipeline),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
}

/// The pipeline, body and `{{else}}` part of `if`, `with` and `range`.
#[derive(Debug, Clone, PartialEq)]
struct Branch {
    pipe: Pipeline,
    body: Vec<Node>,
    otherwise: Vec<Node>,
}

/// `$a, $b := cmd | cmd …`.
#[derive(Debug, Clone, PartialEq)]
struct Pipeline {
    vars: Vec<String>,
    /// `=` rather than `:=`.
    assign: bool,
    cmds: Vec<Command>,
}

/// A function and its arguments, or a single operand (or a field given keys, `.Label "k"`).
#[derive(Debug, Clone, PartialEq)]
struct Command {
    operands: Vec<Operand>,
}

/// A term followed by field names: `.A.B`, `$x.A`, `(index .X 0).A`.
#[derive(Debug, Clone, PartialEq)]
struct Operand {
    term: Term,
    fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Dot,
    Var(String),
    Func(String),
    Lit(Value),
    Nil,
    Sub(Box<Pipeline>),
}

const FUNCS: &[&str] = &[
    "and", "eq", "ge", "gt", "index", "join", "json", "le", "len", "lower", "lt", "ne", "not",
    "or", "pad", "print", "printf", "println", "slice", "split", "title", "truncate", "upper",
];

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

impl Template {
    /// Parses `src`; an error says what is wrong, as Go's parser does.
    pub fn parse(src: &str) -> Result<Template, String> {
        let (table, body) = match src.strip_prefix("table") {
            Some(rest) => (true, rest.trim_start_matches(' ')),
            None => (false, src),
        };
        let mut parser = Parser {
            items: lex(body)?.into_iter(),
            vars: Vec::new(),
            loops: 0,
        };
        let (nodes, stop) = parser.list()?;
        match stop {
            Stop::Eof => Ok(Template { table, nodes }),
            Stop::End => Err("template: unexpected {{end}}".to_owned()),
            Stop::Else(_) => Err("template: unexpected {{else}}".to_owned()),
        }
    }

    /// Whether the template began with `table`: print a header and align the columns.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Renders the template for one value.
    pub fn render(&self, value: &Value) -> Result<String, String> {
        let mut exec = Exec {
            vars: vec![("$".to_owned(), value.clone())],
        };
        let mut out = String::new();
        exec.walk(&self.nodes, value, &mut out).map_err(|f| f.msg)?;
        Ok(out)
    }

    /// The header row of a table: the text, and each action replaced by `header(name)` of
    /// the last field it names (nothing if it names none); the bodies of `if`, `with` and
    /// `range` contribute as if they were at the top.
    pub fn header(&self, header: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        header_of(&self.nodes, &header, &mut out);
        out
    }
}

fn header_of(nodes: &[Node], header: &impl Fn(&str) -> String, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) if p.vars.is_empty() => {
                if let Some(name) = last_field(p) {
                    out.push_str(&header(name));
                }
            }
            Node::If(b) | Node::With(b) | Node::Range(b) => header_of(&b.body, header, out),
            _ => {}
        }
    }
}

/// The last field name a pipeline mentions: `Name` for `{{.Name | upper}}`, `IPAddress`
/// for `{{(index .Networks "n").IPAddress}}`.
fn last_field(p: &Pipeline) -> Option<&str> {
    let mut last = None;
    for op in p.cmds.iter().flat_map(|c| &c.operands) {
        if let Some(f) = op.fields.last() {
            last = Some(f.as_str());
        } else if let Term::Sub(inner) = &op.term {
            last = last_field(inner).or(last);
        }
    }
    last
}

// ---------------------------------------------------------------------------------------
// Lexer: text and the tokens of each action.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Dot,
    /// `.Name`
    Field(String),
    /// `$name`, with its `$`
    Var(String),
    Ident(String),
    Str(String),
    Num(Value),
    Bool(bool),
    Nil,
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    /// Whether white space came before it: `(x).A` is a field of `(x)`, `(x) .A` two
    /// operands.
    spaced: bool,
}

enum Item {
    Text(String),
    Action(Vec<Token>),
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer {
    s: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn at(&self, off: usize) -> Option<char> {
        self.s.get(self.pos + off).copied()
    }

    fn looking_at(&self, off: usize, pat: &str) -> bool {
        pat.chars()
            .enumerate()
            .all(|(i, c)| self.at(off + i) == Some(c))
    }

    /// The tokens up to the closing `}}`, and whether it was ` -}}`.
    fn action(&mut self) -> Result<(Vec<Token>, bool), String> {
        let mut toks = Vec::new();
        let mut spaced = false;
        loop {
            if self.looking_at(0, "}}") {
                self.pos += 2;
                return Ok((toks, false));
            }
            let c = self
                .at(0)
                .ok_or_else(|| "template: unclosed action".to_owned())?;
            if is_space(c) {
                if self.looking_at(1, "-}}") {
                    self.pos += 4;
                    return Ok((toks, true));
                }
                self.pos += 1;
                spaced = true;
                continue;
            }
            let tok = self.token(c)?;
            toks.push(Token { tok, spaced });
            spaced = false;
        }
    }

    fn token(&mut self, c: char) -> Result<Tok, String> {
        let next = self.at(1);
        self.pos += 1;
        Ok(match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '|' => Tok::Pipe,
            ',' => Tok::Comma,
            '=' => Tok::Assign,
            ':' if next == Some('=') => {
                self.pos += 1;
                Tok::Declare
            }
            '"' => Tok::Str(self.quoted()?),
            '`' => {
                let start = self.pos;
                while self.at(0).is_some_and(|c| c != '`') {
                    self.pos += 1;
                }
                if self.at(0).is_none() {
                    return Err("template: unterminated raw quoted string".to_owned());
                }
                self.pos += 1;
                Tok::Str(self.s[start..self.pos - 1].iter().collect())
            }
            '\'' => {
                let ch = match self.at(0) {
                    Some('\\') => {
                        self.pos += 1;
                        self.escape()?
                    }
                    Some(ch) if ch != '\'' && ch != '\n' => {
                        self.pos += 1;
                        ch
                    }
                    _ => return Err("template: malformed character constant".to_owned()),
                };
                if self.at(0) != Some('\'') {
                    return Err("template: malformed character constant".to_owned());
                }
                self.pos += 1;
                Tok::Num(Value::from(ch as i64))
            }
            '$' => Tok::Var(format!("${}", self.word())),
            '.' if next.is_some_and(|c| c.is_ascii_digit()) => {
                self.pos -= 1;
                self.number()?
            }
            '.' if next.is_some_and(is_word) => Tok::Field(self.word()),
            '.' => Tok::Dot,
            '+' | '-' | '0'..='9' => {
                self.pos -= 1;
                self.number()?
            }
            c if is_word(c) => {
                self.pos -= 1;
                match self.word().as_str() {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    w => Tok::Ident(w.to_owned()),
                }
            }
            c => return Err(format!("template: unexpected {c:?} in action")),
        })
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.at(0).is_some_and(is_word) {
            self.pos += 1;
        }
        self.s[start..self.pos].iter().collect()
    }

    fn number(&mut self) -> Result<Tok, String> {
        let start = self.pos;
        if matches!(self.at(0), Some('+' | '-')) {
            self.pos += 1;
        }
        while let Some(c) = self.at(0) {
            let exponent_sign = matches!(c, '+' | '-')
                && matches!(self.s[self.pos - 1], 'e' | 'E' | 'p' | 'P')
                && !self.s[start..self.pos]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X'));
            if is_word(c) || c == '.' || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text: String = self.s[start..self.pos].iter().collect();
        parse_number(&text)
            .map(Tok::Num)
            .ok_or_else(|| format!("template: bad number syntax: {text:?}"))
    }

    /// The rest of a `"…"` string, its opening quote read.
    fn quoted(&mut self) -> Result<String, String> {
        let mut s = String::new();
        loop {
            match self.at(0) {
                None | Some('\n') => return Err("template: unterminated quoted string".to_owned()),
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') => {
                    self.pos += 1;
                    s.push(self.escape()?);
                }
                Some(c) => {
                    self.pos += 1;
                    s.push(c);
                }
            }
        }
    }

    /// A Go escape sequence, its backslash read.
    fn escape(&mut self) -> Result<char, String> {
        let bad = || "template: invalid escape sequence in quoted string".to_owned();
        let c = self.at(0).ok_or_else(bad)?;
        self.pos += 1;
        let hex = |lx: &mut Lexer, n: usize, radix: u32| -> Result<char, String> {
            let digits: String =
                lx.s.get(lx.pos..lx.pos + n)
                    .ok_or_else(bad)?
                    .iter()
                    .collect();
            lx.pos += n;
            u32::from_str_radix(&digits, radix)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(bad)
        };
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            '\\' | '"' | '\'' => c,
            'x' => hex(self, 2, 16)?,
            'u' => hex(self, 4, 16)?,
            'U' => hex(self, 8, 16)?,
            '0'..='7' => {
                self.pos -= 1;
                hex(self, 3, 8)?
            }
            _ => return Err(bad()),
        })
    }
}

/// A Go number literal: ints (also `0x`, `0o`, `0b`, a leading `0` for octal, `_`
/// separators) and floats (with `.` or an exponent).
fn parse_number(text: &str) -> Option<Value> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if radix == 10 && digits.contains(['.', 'e']) {
        let f: f64 = digits.parse().ok()?;
        return Number::from_f64(if neg { -f } else { f }).map(Value::Number);
    }
    let n = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        let n = i64::try_from(n).ok()?;
        Some(Value::from(-n))
    } else {
        Some(Value::from(n))
    }
}

/// Splits a template into text and actions, dropping comments, turning `\t` and `\n` in
/// the text into a tab and a newline (as docker does) and applying `{{- ` and ` -}}`
/// trimming.
fn lex(src: &str) -> Result<Vec<Item>, String> {
    let mut lx = Lexer {
        s: src.chars().collect(),
        pos: 0,
    };
    let mut items = Vec::new();
    let mut trim_next = false;
    loop {
        let start = lx.pos;
        while lx.pos < lx.s.len() && !lx.looking_at(0, "{{") {
            lx.pos += 1;
        }
        let text: String = lx.s[start..lx.pos].iter().collect();
        // Inside actions, Go's own string escapes already read `\t` and `\n`.
        let mut text = text.replace("\\t", "\t").replace("\\n", "\n");
        if trim_next {
            text = text.trim_start_matches(is_space).to_owned();
        }
        if lx.pos >= lx.s.len() {
            if !text.is_empty() {
                items.push(Item::Text(text));
            }
            return Ok(items);
        }
        lx.pos += 2;
        if lx.at(0) == Some('-') && lx.at(1).is_some_and(is_space) {
            text = text.trim_end_matches(is_space).to_owned();
            lx.pos += 2;
        }
        if !text.is_empty() {
            items.push(Item::Text(text));
        }
        if lx.looking_at(0, "/*") {
            lx.pos += 2;
            while lx.pos < lx.s.len() && !lx.looking_at(0, "*/") {
                lx.pos += 1;
            }
            if lx.pos >= lx.s.len() {
                return Err("template: unclosed comment".to_owned());
            }
            lx.pos += 2;
            if lx.looking_at(0, "}}") {
                lx.pos += 2;
                trim_next = false;
            } else if lx.at(0).is_some_and(is_space) && lx.looking_at(1, "-}}") {
                lx.pos += 4;
                trim_next = true;
            } else {
                return Err("template: comment ends before closing delimiter".to_owned());
            }
            continue;
        }
        let (toks, trim) = lx.action()?;
        items.push(Item::Action(toks));
        trim_next = trim;
    }
}

// ---------------------------------------------------------------------------------------
// Parser: items into nodes, each action's tokens into a pipeline.

/// What ended a list of nodes.
enum Stop {
    Eof,
    End,
    /// `{{else …}}`, with the tokens after `else`.
    Else(Vec<Token>),
}

struct Parser {
    items: std::vec::IntoIter<Item>,
    /// The variables in scope, for "undefined variable" errors.
    vars: Vec<String>,
    /// How many `range`s enclose the current node.
    loops: usize,
}

/// A cursor over an action's tokens.
struct Toks<'a> {
    toks: &'a [Token],
    i: usize,
}

impl Toks<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn peek_tok(&self, off: usize) -> Option<&Tok> {
        self.toks.get(self.i + off).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.toks.get(self.i);
        self.i += 1;
        t
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Dot => "\".\"".to_owned(),
        Tok::Field(f) => format!("\".{f}\""),
        Tok::Var(v) | Tok::Ident(v) => format!("{v:?}"),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Num(n) => format!("\"{n}\""),
        Tok::Bool(b) => format!("\"{b}\""),
        Tok::Nil => "\"nil\"".to_owned(),
        Tok::LParen => "\"(\"".to_owned(),
        Tok::RParen => "\")\"".to_owned(),
        Tok::Pipe => "\"|\"".to_owned(),
        Tok::Declare => "\":=\"".to_owned(),
        Tok::Assign => "\"=\"".to_owned(),
        Tok::Comma => "\",\"".to_owned(),
    }
}

impl Parser {
    fn list(&mut self) -> Result<(Vec<Node>, Stop), String> {
        let mut nodes = Vec::new();
        while let Some(item) = self.items.next() {
            let toks = match item {
                Item::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Item::Action(toks) => toks,
            };
            let keyword = match toks.first().map(|t| &t.tok) {
                Some(Tok::Ident(k)) if KEYWORDS.contains(&k.as_str()) => k.as_str(),
                _ => {
                    let mut ts = Toks { toks: &toks, i: 0 };
                    let pipe = self.pipeline(&mut ts, "command", 1)?;
                    if let Some(Token {
                        tok: Tok::RParen, ..
                    }) = ts.peek()
                    {
                        return Err("template: unexpected right paren".to_owned());
                    }
                    if let Some(t) = ts.peek() {
                        return Err(format!(
                            "template: unexpected {} in command",
                            describe(&t.tok)
                        ));
                    }
                    nodes.push(Node::Action(pipe));
                    continue;
                }
            };
            let rest = &toks[1..];
            match keyword {
                "end" | "break" | "continue" if !rest.is_empty() => {
                    return Err(format!(
                        "template: unexpected {} in {{{{{keyword}}}}}",
                        describe(&rest[0].tok)
                    ))
                }
                "end" => return Ok((nodes, Stop::End)),
                "else" => return Ok((nodes, Stop::Else(rest.to_vec()))),
                "break" | "continue" if self.loops == 0 => {
                    return Err(format!("template: {{{{{keyword}}}}} outside {{{{range}}}}"))
                }
                "break" => nodes.push(Node::Break),
                "continue" => nodes.push(Node::Continue),
                "if" | "with" | "range" => nodes.push(self.control(keyword, rest)?),
                _ => return Err(format!("template: unsupported action {{{{{keyword}}}}}")),
            }
        }
        Ok((nodes, Stop::Eof))
    }

    /// `if`, `with` or `range`, its keyword read: the pipeline, the body up to `{{else}}`
    /// or `{{end}}`, and the else part (an `{{else if …}}` chain nests).
    fn control(&mut self, kw: &str, toks: &[Token]) -> Result<Node, String> {
        let mark = self.vars.len();
        let mut ts = Toks { toks, i: 0 };
        let pipe = self.pipeline(&mut ts, kw, if kw == "range" { 2 } else { 1 })?;
        if let Some(t) = ts.peek() {
            return Err(format!("template: unexpected {} in {kw}", describe(&t.tok)));
        }
        let eof = || format!("template: unexpected EOF: {{{{{kw}}}}} has no {{{{end}}}}");
        if kw == "range" {
            self.loops += 1;
        }
        let (body, stop) = self.list()?;
        if kw == "range" {
            self.loops -= 1;
        }
        let otherwise = match stop {
            Stop::End => Vec::new(),
            Stop::Eof => return Err(eof()),
            Stop::Else(rest) if rest.is_empty() => match self.list()? {
                (other, Stop::End) => other,
                (_, Stop::Eof) => return Err(eof()),
                (_, Stop::Else(_)) => {
                    return Err("template: expected {{end}}; found {{else}}".to_owned())
                }
            },
            Stop::Else(rest) => match &rest[0].tok {
                Tok::Ident(k) if k == kw && kw != "range" => vec![self.control(kw, &rest[1..])?],
                t => {
                    return Err(format!(
                        "template: unexpected {} after {{{{else}}}}",
                        describe(t)
                    ))
                }
            },
        };
        self.vars.truncate(mark);
        let branch = Branch {
            pipe,
            body,
            otherwise,
        };
        Ok(match kw {
            "if" => Node::If(branch),
            "with" => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    /// `[$a[, $b] (:=|=)] command [| command]…`, up to the end of the tokens or a `)`.
    fn pipeline(&mut self, ts: &mut Toks, ctx: &str, max_vars: usize) -> Result<Pipeline, String> {
        let mut vars = Vec::new();
        let mut assign = false;
        if let Some(Tok::Var(a)) = ts.peek_tok(0) {
            match (ts.peek_tok(1), ts.peek_tok(2), ts.peek_tok(3)) {
                (Some(t @ (Tok::Declare | Tok::Assign)), _, _) => {
                    assign = *t == Tok::Assign;
                    vars.push(a.clone());
                    ts.i += 2;
                }
                (Some(Tok::Comma), Some(Tok::Var(b)), Some(t @ (Tok::Declare | Tok::Assign))) => {
                    if max_vars < 2 {
                        return Err(format!("template: too many declarations in {ctx}"));
                    }
                    assign = *t == Tok::Assign;
                    vars.push(a.clone());
                    vars.push(b.clone());
                    ts.i += 4;
                }
                _ => {}
            }
        }
        if assign {
            if let Some(v) = vars.iter().find(|v| !self.vars.contains(v)) {
                return Err(format!("template: undefined variable {v:?}"));
            }
        }
        let mut cmds = Vec::new();
        loop {
            let mut operands = Vec::new();
            while let Some(t) = ts.peek() {
                if matches!(t.tok, Tok::Pipe | Tok::RParen) {
                    break;
                }
                if !operands.is_empty() && !t.spaced {
                    return Err(format!(
                        "template: missing space before {} in operand",
                        describe(&t.tok)
                    ));
                }
                operands.push(self.operand(ts)?);
            }
            let Some(first) = operands.first() else {
                return Err(format!("template: missing value for {ctx}"));
            };
            let plain = first.fields.is_empty() && !matches!(first.term, Term::Func(_));
            if plain && first.term == Term::Nil && operands.len() == 1 {
                return Err("template: nil is not a command".to_owned());
            }
            if plain && operands.len() > 1 {
                return Err("template: can't give argument to non-function".to_owned());
            }
            if !cmds.is_empty() && plain && !matches!(first.term, Term::Var(_) | Term::Sub(_)) {
                return Err(format!(
                    "template: non executable command in pipeline stage {}",
                    cmds.len() + 1
                ));
            }
            cmds.push(Command { operands });
            if ts.peek_tok(0) == Some(&Tok::Pipe) {
                ts.i += 1;
            } else {
                break;
            }
        }
        if !assign {
            self.vars.extend(vars.iter().cloned());
        }
        Ok(Pipeline { vars, assign, cmds })
    }

    fn operand(&mut self, ts: &mut Toks) -> Result<Operand, String> {
        let tok = ts.next().expect("an operand follows").tok.clone();
        let mut fields = Vec::new();
        let term = match tok {
            Tok::Dot => Term::Dot,
            Tok::Field(f) => {
                fields.push(f);
                Term::Dot
            }
            Tok::Var(v) => {
                if v != "$" && !self.vars.contains(&v) {
                    return Err(format!("template: undefined variable {v:?}"));
                }
                Term::Var(v)
            }
            Tok::Ident(f) if FUNCS.contains(&f.as_str()) => Term::Func(f),
            Tok::Ident(f) if KEYWORDS.contains(&f.as_str()) => {
                return Err(format!("template: unexpected {{{{{f}}}}} in operand"))
            }
            Tok::Ident(f) => return Err(format!("template: function {f:?} not defined")),
            Tok::Str(s) => Term::Lit(Value::String(s)),
            Tok::Num(n) => Term::Lit(n),
            Tok::Bool(b) => Term::Lit(Value::Bool(b)),
            Tok::Nil => Term::Nil,
            Tok::LParen => {
                let pipe = self.pipeline(ts, "parenthesized pipeline", 1)?;
                match ts.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Term::Sub(Box::new(pipe)),
                    _ => return Err("template: unclosed left paren".to_owned()),
                }
            }
            t => return Err(format!("template: unexpected {} in operand", describe(&t))),
        };
        while let Some(Token {
            tok: Tok::Field(f),
            spaced: false,
        }) = ts.peek()
        {
            fields.push(f.clone());
            ts.i += 1;
        }
        if !fields.is_empty() && matches!(term, Term::Func(_) | Term::Lit(_) | Term::Nil) {
            return Err(format!("template: unexpected .{} after term", fields[0]));
        }
        Ok(Operand { term, fields })
    }
}

// ---------------------------------------------------------------------------------------
// Evaluator.

/// An evaluation error; `soft` for a missing field (or a field of null), which a
/// condition takes as false.
struct Fail {
    msg: String,
    soft: bool,
}

type Eval<T> = Result<T, Fail>;

fn fail(msg: impl Into<String>) -> Fail {
    Fail {
        msg: msg.into(),
        soft: false,
    }
}

/// How a list of nodes ended.
enum Flow {
    Normal,
    Break,
    Continue,
}

static NULL: Value = Value::Null;

struct Exec {
    /// The variables in scope, innermost last; `$` first.
    vars: Vec<(String, Value)>,
}

impl Exec {
    fn walk(&mut self, nodes: &[Node], dot: &Value, out: &mut String) -> Eval<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(t) => {
                    out.push_str(t);
                    Flow::Normal
                }
                Node::Action(p) => {
                    let v = self.pipeline(p, dot)?;
                    if p.vars.is_empty() {
                        out.push_str(&go_string(&v));
                    }
                    Flow::Normal
                }
                Node::If(b) | Node::With(b) => {
                    let mark = self.vars.len();
                    let v = self.condition(&b.pipe, dot)?;
                    self.bind(&b.pipe, std::slice::from_ref(&v));
                    let flow = match (truth(&v), node) {
                        (true, Node::With(_)) => self.walk(&b.body, &v, out),
                        (true, _) => self.walk(&b.body, dot, out),
                        (false, _) => self.walk(&b.otherwise, dot, out),
                    };
                    self.vars.truncate(mark);
                    flow?
                }
                Node::Range(b) => {
                    let mark = self.vars.len();
                    let flow = self.range(b, dot, out);
                    self.vars.truncate(mark);
                    flow?
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn range(&mut self, b: &Branch, dot: &Value, out: &mut String) -> Eval<Flow> {
        let v = self.condition(&b.pipe, dot)?;
        let items: Vec<(Value, Value)> = match &v {
            Value::Null => Vec::new(),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, e)| (Value::from(i), e.clone()))
                .collect(),
            Value::Object(m) => sorted_entries(m)
                .into_iter()
                .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                .collect(),
            Value::Number(n) if n.as_u64().is_some() && b.pipe.vars.len() > 1 => {
                return Err(fail(format!(
                    "template: can't use {n} to iterate over more than one variable"
                )))
            }
            Value::Number(n) if n.as_u64().is_some() => (0..n.as_u64().unwrap_or(0))
                .map(|i| (Value::from(i), Value::from(i)))
                .collect(),
            other => {
                return Err(fail(format!(
                    "template: range can't iterate over {}",
                    go_string(other)
                )))
            }
        };
        if items.is_empty() {
            return self.walk(&b.otherwise, dot, out);
        }
        self.bind(&b.pipe, &[Value::Null, Value::Null]);
        let mark = self.vars.len();
        for (key, elem) in items {
            match b.pipe.vars.as_slice() {
                [v] => self.set(v, elem.clone()),
                [k, v] => {
                    self.set(k, key);
                    self.set(v, elem.clone());
                }
                _ => {}
            }
            let flow = self.walk(&b.body, &elem, out);
            self.vars.truncate(mark);
            if let Flow::Break = flow? {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    /// The value of a condition: a missing field is null.
    fn condition(&mut self, p: &Pipeline, dot: &Value) -> Eval<Value> {
        match self.commands(p, dot) {
            Err(f) if f.soft => Ok(Value::Null),
            r => r,
        }
    }

    /// Declares (or assigns) the pipeline's variables to `values`, in order.
    fn bind(&mut self, p: &Pipeline, values: &[Value]) {
        for (name, v) in p.vars.iter().zip(values) {
            if p.assign {
                self.set(name, v.clone());
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
    }

    fn set(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Eval<&Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| fail(format!("template: undefined variable {name:?}")))
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &Value) -> Eval<Value> {
        let v = self.commands(p, dot)?;
        self.bind(p, std::slice::from_ref(&v));
        Ok(v)
    }

    fn commands(&mut self, p: &Pipeline, dot: &Value) -> Eval<Value> {
        let mut prev = None;
        for cmd in &p.cmds {
            prev = Some(self.command(cmd, dot, prev)?);
        }
        Ok(prev.unwrap_or(Value::Null))
    }

    fn command(&mut self, cmd: &Command, dot: &Value, piped: Option<Value>) -> Eval<Value> {
        let (first, args) = cmd
            .operands
            .split_first()
            .expect("a command has an operand");
        let Term::Func(name) = &first.term else {
            let v = self.operand(first, dot)?;
            if args.is_empty() && piped.is_none() {
                return Ok(v);
            }
            if first.fields.is_empty() || !v.is_object() {
                return Err(fail(format!(
                    "template: can't give argument to non-function .{}",
                    first.fields.join(".")
                )));
            }
            // `.Label "key"`: docker's methods taking a key, here the map the field holds.
            let mut keys = Vec::new();
            for a in args {
                keys.push(self.operand(a, dot)?);
            }
            keys.extend(piped);
            return call("index", &[&[v][..], &keys].concat());
        };
        let lenient = matches!(name.as_str(), "and" | "or" | "not");
        let mut values = Vec::with_capacity(args.len() + 1);
        for (i, a) in args.iter().enumerate() {
            let v = match self.operand(a, dot) {
                Err(f) if f.soft && lenient => Value::Null,
                r => r?,
            };
            // `and` and `or` stop at the first argument that decides.
            let decided = (name == "and" && !truth(&v)) || (name == "or" && truth(&v));
            if decided && (i + 1 < args.len() || piped.is_some()) {
                return Ok(v);
            }
            values.push(v);
        }
        values.extend(piped);
        call(name, &values)
    }

    fn operand(&mut self, op: &Operand, dot: &Value) -> Eval<Value> {
        let owned;
        let mut v: &Value = match &op.term {
            Term::Dot => dot,
            Term::Var(name) => self.var(name)?,
            Term::Lit(v) => v,
            Term::Nil => &NULL,
            Term::Func(name) => {
                owned = call(name, &[])?;
                &owned
            }
            Term::Sub(p) => {
                owned = self.pipeline(p, dot)?;
                &owned
            }
        };
        for name in &op.fields {
            v = field(v, name)?;
        }
        Ok(v.clone())
    }
}

fn field<'v>(v: &'v Value, name: &str) -> Eval<&'v Value> {
    match v {
        Value::Object(map) => map.get(name).ok_or_else(|| Fail {
            msg: format!("template: can't evaluate field {name}"),
            soft: true,
        }),
        Value::Null => Err(Fail {
            msg: format!("template: nil pointer evaluating field {name}"),
            soft: true,
        }),
        other => Err(fail(format!(
            "template: can't evaluate field {name} in type {}",
            go_type(other)
        ))),
    }
}

/// Go's truth of a value: false, 0, "", nil and empty lists and maps are false.
fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// The Go type a JSON value decodes to, as `printf` names it.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's error for an argument of the wrong type, `expected` naming the Go type wanted.
fn wrong_type(expected: &str, got: &Value) -> Fail {
    fail(format!(
        "template: wrong type for value; expected {expected}; got {}",
        go_type(got)
    ))
}

/// The first argument and the rest, for the functions that want at least one.
fn split_args<'a>(name: &str, args: &'a [Value]) -> Eval<(&'a Value, &'a [Value])> {
    args.split_first().ok_or_else(|| {
        fail(format!(
            "template: wrong number of args for {name}: want at least 1 got 0"
        ))
    })
}

/// The elements of a map in key order, as Go's templates and fmt visit them.
fn sorted_entries(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Functions.

fn call(name: &str, args: &[Value]) -> Eval<Value> {
    let arity = |want: usize| -> Eval<()> {
        if args.len() == want {
            Ok(())
        } else {
            Err(fail(format!(
                "template: wrong number of args for {name}: want {want} got {}",
                args.len()
            )))
        }
    };
    let err = |msg: String| fail(format!("template: error calling {name}: {msg}"));
    let string = |v: &Value| -> Eval<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Null => Ok(String::new()),
            Value::Number(_) | Value::Bool(_) => Ok(go_string(v)),
            other => Err(wrong_type("string", other)),
        }
    };
    let int = |v: &Value| -> Eval<i64> { int_arg(v).ok_or_else(|| wrong_type("int", v)) };
    Ok(match name {
        "json" => {
            arity(1)?;
            Value::String(json(&args[0]))
        }
        "upper" | "lower" | "title" => {
            arity(1)?;
            let s = string(&args[0])?;
            Value::String(match name {
                "upper" => s.to_uppercase(),
                "lower" => s.to_lowercase(),
                _ => title(&s),
            })
        }
        "split" => {
            arity(2)?;
            let (s, sep) = (string(&args[0])?, string(&args[1])?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_owned()))
                    .collect()
            };
            Value::Array(parts)
        }
        "join" => {
            arity(2)?;
            let sep = string(&args[1])?;
            match &args[0] {
                Value::Array(items) => {
                    Value::String(items.iter().map(go_string).collect::<Vec<_>>().join(&sep))
                }
                Value::Null => Value::String(String::new()),
                other => return Err(wrong_type("[]string", other)),
            }
        }
        "truncate" => {
            arity(2)?;
            let (s, n) = (string(&args[0])?, int(&args[1])?);
            Value::String(s.chars().take(n.max(0) as usize).collect())
        }
        "pad" => {
            arity(3)?;
            let (s, pre, post) = (string(&args[0])?, int(&args[1])?, int(&args[2])?);
            if s.is_empty() {
                Value::String(s)
            } else {
                let spaces = |n: i64| " ".repeat(n.max(0) as usize);
                Value::String(format!("{}{s}{}", spaces(pre), spaces(post)))
            }
        }
        "index" => {
            let (item, keys) = split_args(name, args)?;
            let mut item = item.clone();
            for key in keys {
                item = index(&item, key).map_err(err)?;
            }
            item
        }
        "slice" => {
            let (item, idx) = split_args(name, args)?;
            slice(item, idx).map_err(err)?
        }
        "len" => {
            arity(1)?;
            Value::from(match &args[0] {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::Null => 0,
                other => return Err(err(format!("len of type {}", go_type(other)))),
            })
        }
        "print" => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 && !args[i - 1].is_string() && !a.is_string() {
                    out.push(' ');
                }
                out.push_str(&go_string(a));
            }
            Value::String(out)
        }
        "println" => {
            let parts: Vec<String> = args.iter().map(go_string).collect();
            Value::String(format!("{}\n", parts.join(" ")))
        }
        "printf" => {
            let (f, rest) = split_args(name, args)?;
            let Value::String(f) = f else {
                return Err(wrong_type("string", f));
            };
            Value::String(sprintf(f, rest))
        }
        "not" => {
            arity(1)?;
            Value::Bool(!truth(&args[0]))
        }
        "and" | "or" => {
            // Only the deciding argument or the last reaches here.
            split_args(name, args)?;
            args[args.len() - 1].clone()
        }
        "eq" => {
            let (a, rest) = match args {
                [a, rest @ ..] if !rest.is_empty() => (a, rest),
                _ => return Err(err("missing argument for comparison".to_owned())),
            };
            let mut any = false;
            for b in rest {
                any |= equal(a, b).map_err(err)?;
            }
            Value::Bool(any)
        }
        "ne" => {
            arity(2)?;
            Value::Bool(!equal(&args[0], &args[1]).map_err(err)?)
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(2)?;
            let ord = compare(&args[0], &args[1]).map_err(err)?;
            Value::Bool(match name {
                "lt" => ord == Ordering::Less,
                "le" => ord != Ordering::Greater,
                "gt" => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        _ => return Err(fail(format!("template: function {name:?} not defined"))),
    })
}

/// Go's `strings.Title`: the first letter of each word upper-cased.
fn title(s: &str) -> String {
    let separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        if separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn index(item: &Value, key: &Value) -> Result<Value, String> {
    // `key` as a position below `len` in a `what`.
    let position = |what: &str, len: usize| -> Result<usize, String> {
        let i = int_arg(key)
            .ok_or_else(|| format!("cannot index {what} with type {}", go_type(key)))?;
        usize::try_from(i)
            .ok()
            .filter(|&i| i < len)
            .ok_or_else(|| format!("index out of range: {i}"))
    };
    match (item, key) {
        (Value::Array(a), _) => Ok(a[position("slice/array", a.len())?].clone()),
        // A missing key is the zero value in Go, not an error.
        (Value::Object(m), Value::String(k)) => {
            Ok(m.get(k).cloned().unwrap_or(Value::String(String::new())))
        }
        (Value::Null, Value::String(_)) => Ok(Value::String(String::new())),
        (Value::Object(_), k) => Err(format!("value has type {}; should be string", go_type(k))),
        (Value::String(s), _) => Ok(Value::from(s.as_bytes()[position("string", s.len())?])),
        (Value::Null, _) => Err("index of untyped nil".to_owned()),
        (other, _) => Err(format!("can't index item of type {}", go_type(other))),
    }
}

fn slice(item: &Value, idx: &[Value]) -> Result<Value, String> {
    let len = match item {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        other => return Err(format!("can't slice item of type {}", go_type(other))),
    };
    if idx.len() > 3 || (idx.len() == 3 && item.is_string()) {
        return Err("too many slice indexes".to_owned());
    }
    let mut bounds = Vec::new();
    for v in idx {
        let i = int_arg(v).ok_or_else(|| format!("cannot index slice with type {}", go_type(v)))?;
        bounds.push(usize::try_from(i).map_err(|_| format!("index out of range: {i}"))?);
    }
    let start = bounds.first().copied().unwrap_or(0);
    let end = bounds.get(1).copied().unwrap_or(len);
    let cap = bounds.get(2).copied().unwrap_or(len);
    if start > end || end > cap || cap > len {
        return Err(format!("invalid slice index: {start} > {end}"));
    }
    Ok(match item {
        Value::String(s) => Value::String(
            s.get(start..end)
                .ok_or("slice splits a character")?
                .to_owned(),
        ),
        Value::Array(a) => Value::Array(a[start..end].to_vec()),
        _ => unreachable!("checked above"),
    })
}

fn num_cmp(a: &Number, b: &Number) -> Ordering {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x.cmp(&y),
        (_, _, Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(num_cmp(x, y) == Ordering::Equal),
        (Value::String(x), Value::String(y)) => Ok(x == y),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::Null, _) | (_, Value::Null) => Ok(a == b),
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            Err(format!("non-comparable type {}", go_type(a)))
        }
        _ => Err("incompatible types for comparison".to_owned()),
    }
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(num_cmp(x, y)),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => {
            Err("invalid type for comparison".to_owned())
        }
        _ => Err("incompatible types for comparison".to_owned()),
    }
}

// ---------------------------------------------------------------------------------------
// Printing values as Go's fmt does.

/// A value as Go's template prints it: `[a b]` for a list, `map[k:v]` for a map (keys in
/// order), `<nil>` for null, floats as `%v` (`1.5`, `1e+06`).
fn go_string(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::Array(items) => go_list(items, go_string),
        Value::Object(map) => go_map(map, |k, v| format!("{k}:{}", go_string(v))),
    }
}

/// A list as Go's fmt prints it, `[a b]`, each element printed by `elem`.
fn go_list(items: &[Value], elem: impl Fn(&Value) -> String) -> String {
    let items: Vec<String> = items.iter().map(elem).collect();
    format!("[{}]", items.join(" "))
}

/// A map as Go's fmt prints it, `map[k:v k:v]` in key order, each `k:v` from `entry`.
fn go_map(map: &Map<String, Value>, entry: impl Fn(&String, &Value) -> String) -> String {
    let items: Vec<String> = sorted_entries(map)
        .into_iter()
        .map(|(k, v)| entry(k, v))
        .collect();
    format!("map[{}]", items.join(" "))
}

fn go_number(n: &Number) -> String {
    if n.is_f64() {
        float(n.as_f64().unwrap_or(0.0), 'g', None)
    } else {
        n.to_string()
    }
}

/// `f` with Go's verb `e`, `f` or `g` (upper-case for `E`, `F`, `G`); `prec` None is
/// 6 digits for `e` and `f`, the shortest exact form for `g`.
fn float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `1.5e3` written Go's way: `1.5e+03`.
    let go_exp = |s: String| -> String {
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    };
    let out = match verb.to_ascii_lowercase() {
        'f' => format!("{:.*}", prec.unwrap_or(6), f),
        'e' => go_exp(format!("{:.*e}", prec.unwrap_or(6), f)),
        _ => {
            // The significant digits and the exponent, then `%e` or `%f` as Go decides.
            let sci = match prec {
                None => format!("{f:e}"),
                Some(p) => format!("{:.*e}", p.max(1) - 1, f),
            };
            let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let mant = if mant.contains('.') {
                mant.trim_end_matches('0').trim_end_matches('.')
            } else {
                mant
            };
            let digits = mant.chars().filter(char::is_ascii_digit).count() as i32;
            let eprec = match prec {
                None => 6,
                Some(p) if p as i32 > digits && digits >= exp + 1 => digits,
                Some(p) => p.max(1) as i32,
            };
            if exp < -4 || exp >= eprec {
                go_exp(format!("{mant}e{exp}"))
            } else {
                format!("{:.*}", (digits - exp - 1).max(0) as usize, f)
            }
        }
    };
    if verb.is_ascii_uppercase() {
        out.to_uppercase()
    } else {
        out
    }
}

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The flags, width and precision of one `printf` verb.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    /// `s` padded to the width; zeros go after a sign when `numeric`.
    fn pad(&self, s: String, numeric: bool) -> String {
        let len = s.chars().count();
        let Some(width) = self.width.filter(|w| *w > len) else {
            return s;
        };
        let fill = width - len;
        if self.minus {
            format!("{s}{}", " ".repeat(fill))
        } else if self.zero {
            let split = if numeric && s.starts_with(['+', '-', ' ']) {
                1
            } else {
                0
            };
            format!("{}{}{}", &s[..split], "0".repeat(fill), &s[split..])
        } else {
            format!("{}{s}", " ".repeat(fill))
        }
    }

    fn sign(&self, negative: bool) -> &'static str {
        match (negative, self.plus, self.space) {
            (true, _, _) => "-",
            (false, true, _) => "+",
            (false, false, true) => " ",
            _ => "",
        }
    }
}

/// Go's `fmt.Sprintf` for JSON values.
fn sprintf(format: &str, args: &[Value]) -> String {
    let chars: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut next_arg = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::default();
        while let Some(c) = chars.get(i) {
            match c {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        // A width or precision: digits, or `*` taking an argument.
        let mut number = |i: &mut usize, spec: &mut Spec| -> Option<usize> {
            if chars.get(*i) == Some(&'*') {
                *i += 1;
                let n = args.get(next_arg).and_then(int_arg);
                next_arg += 1;
                return match n {
                    Some(n) if n < 0 => {
                        spec.minus = true;
                        Some(n.unsigned_abs() as usize)
                    }
                    Some(n) => Some(n as usize),
                    None => None,
                };
            }
            let start = *i;
            while chars.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            let digits: String = chars[start..*i].iter().collect();
            digits.parse().ok()
        };
        spec.width = number(&mut i, &mut spec);
        if chars.get(i) == Some(&'.') {
            i += 1;
            spec.prec = Some(number(&mut i, &mut spec).unwrap_or(0));
        }
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        if verb == 'v' {
            // `%+v` and `%#v` add field names and Go syntax to structs, not signs.
            spec.plus = false;
            spec.sharp = false;
        }
        match args.get(next_arg) {
            Some(arg) => out.push_str(&format_arg(arg, verb, &spec)),
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
        }
        next_arg += 1;
    }
    if next_arg < args.len() {
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| match a {
                Value::Null => "<nil>".to_owned(),
                a => format!("{}={}", go_type(a), go_string(a)),
            })
            .collect();
        let _ = write!(out, "%!(EXTRA {})", extra.join(", "));
    }
    out
}

/// One argument of `printf`; lists and maps apply the verb to each element as Go does.
fn format_arg(v: &Value, verb: char, spec: &Spec) -> String {
    let bad = || match v {
        Value::Null => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", go_type(v), go_string(v)),
    };
    match v {
        Value::Array(items) => go_list(items, |e| format_arg(e, verb, spec)),
        Value::Object(map) => go_map(map, |k, e| {
            let key = format_arg(&Value::String(k.clone()), verb, spec);
            format!("{key}:{}", format_arg(e, verb, spec))
        }),
        Value::Null if verb == 'v' => spec.pad("<nil>".to_owned(), false),
        Value::Null => bad(),
        Value::Bool(b) if matches!(verb, 'v' | 't') => spec.pad(b.to_string(), false),
        Value::Bool(_) => bad(),
        Value::String(s) => {
            let cut = |s: &str| match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_owned(),
            };
            match verb {
                'v' | 's' => spec.pad(cut(s), false),
                'q' => spec.pad(go_quote(&cut(s)), false),
                'x' | 'X' => {
                    let mut hex = String::new();
                    for b in s.bytes() {
                        let _ = if verb == 'x' {
                            write!(hex, "{b:02x}")
                        } else {
                            write!(hex, "{b:02X}")
                        };
                    }
                    spec.pad(hex, false)
                }
                _ => bad(),
            }
        }
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            let body = match verb {
                'v' => float(f.abs(), 'g', spec.prec),
                'e' | 'E' | 'f' | 'F' | 'g' | 'G' => float(f.abs(), verb, spec.prec),
                _ => return bad(),
            };
            spec.pad(format!("{}{body}", spec.sign(f.is_sign_negative())), true)
        }
        Value::Number(n) => {
            let (negative, abs) = match n.as_i64() {
                Some(i) => (i < 0, i.unsigned_abs()),
                None => (false, n.as_u64().unwrap_or(0)),
            };
            let mut digits = match verb {
                'v' | 'd' => abs.to_string(),
                'b' => format!("{abs:b}"),
                'o' | 'O' => format!("{abs:o}"),
                'x' => format!("{abs:x}"),
                'X' => format!("{abs:X}"),
                'c' | 'q' | 'U' => {
                    let c = u32::try_from(abs)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{fffd}');
                    let s = match verb {
                        'c' => c.to_string(),
                        'q' => format!("'{}'", go_quote(&c.to_string()).trim_matches('"')),
                        _ => format!("U+{:04X}", abs),
                    };
                    return spec.pad(s, false);
                }
                _ => return bad(),
            };
            if let Some(p) = spec.prec {
                if digits.len() < p {
                    digits = format!("{}{digits}", "0".repeat(p - digits.len()));
                }
            }
            let prefix = match verb {
                'O' => "0o",
                'x' if spec.sharp => "0x",
                'X' if spec.sharp => "0X",
                'o' if spec.sharp => "0",
                'b' if spec.sharp => "0b",
                _ => "",
            };
            spec.pad(format!("{}{prefix}{digits}", spec.sign(negative)), true)
        }
    }
}

/// Compact JSON as Go's encoder writes it: `<`, `>` and `&` escaped.
pub fn json(v: &Value) -> String {
    go_escape(&v.to_string())
}

/// Go's encoding/json escapes `<`, `>` and `&`; they only occur inside strings, so a
/// textual replacement is exact.
pub fn go_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &str, v: &Value) -> String {
        Template::parse(t).unwrap().render(v).unwrap()
    }

    /// Each template of `cases` rendered with `v`, against what it must print.
    fn renders(v: &Value, cases: &[(&str, &str)]) {
        for (t, want) in cases {
            assert_eq!(render(t, v), *want, "{t}");
        }
    }

    fn render_err(t: &str, v: &Value) -> String {
        match Template::parse(t) {
            Ok(t) => t.render(v).unwrap_err(),
            Err(e) => e,
        }
    }

    #[test]
    fn fields_text_and_escapes() {
        let v = json!({"Repository": "busybox", "Tag": "latest", "N": 3});
        renders(
            &v,
            &[
                ("{{.Repository}}:{{.Tag}}", "busybox:latest"),
                ("{{ .Repository }}\\t{{.N}}\\n", "busybox\t3\n"),
                ("plain", "plain"),
            ],
        );
    }

    #[test]
    fn nested_paths_json_and_functions() {
        let v = json!({"RootFS": {"Type": "layers", "Layers": ["a", "b"]}, "Name": "Box"});
        renders(
            &v,
            &[
                ("{{.RootFS.Type}}", "layers"),
                ("{{.RootFS.Layers}}", "[a b]"),
                ("{{json .RootFS.Layers}}", r#"["a","b"]"#),
                ("{{index .RootFS.Layers 1}}", "b"),
                (r#"{{index .RootFS "Type"}}"#, "layers"),
                ("{{upper .Name}} {{lower .Name}}", "BOX box"),
                ("{{.RootFS}}", "map[Layers:[a b] Type:layers]"),
            ],
        );
    }

    #[test]
    fn field_with_key_argument() {
        let v = json!({"Label": {"com.x": "1"}});
        renders(
            &v,
            &[
                (r#"{{.Label "com.x"}}"#, "1"),
                (r#"{{.Label "nope"}}|{{"com.x" | .Label}}"#, "|1"),
            ],
        );
        assert_eq!(
            Template::parse(r#"table {{.Label "com.x"}}"#)
                .unwrap()
                .header(|f| f.to_uppercase()),
            "LABEL"
        );
    }

    #[test]
    fn json_escapes_like_go() {
        let v = json!({"Tag": "<none>"});
        assert_eq!(render("{{json .}}", &v), r#"{"Tag":"\u003cnone\u003e"}"#);
    }

    #[test]
    fn table_prefix_and_header() {
        let t = Template::parse("table {{.ID}}\\t{{.Tag}}").unwrap();
        assert!(t.is_table());
        assert_eq!(t.header(|f| f.to_uppercase()), "ID\tTAG");
        assert!(!Template::parse("{{.ID}}").unwrap().is_table());
        let t = Template::parse(
            "table {{.Name | upper}}\t{{(index .Nets \"n\").IPAddress}}\t{{if .A}}{{.B}}{{end}}",
        )
        .unwrap();
        assert_eq!(t.header(|f| f.to_uppercase()), "NAME\tIPADDRESS\tB");
    }

    #[test]
    fn errors_name_the_problem() {
        let e = Template::parse("{{.ID").unwrap_err();
        assert!(e.contains("unclosed"), "{e}");
        let e = Template::parse("{{define \"x\"}}").unwrap_err();
        assert!(e.contains("unsupported action"), "{e}");
        let e = Template::parse("{{.Nope}}")
            .unwrap()
            .render(&json!({"ID": "x"}))
            .unwrap_err();
        assert!(e.contains("can't evaluate field Nope"), "{e}");
    }

    #[test]
    fn parse_errors_are_go_like() {
        let v = json!({"S": "s"});
        for (t, msg) in [
            ("{{range .X}}", "template: unexpected EOF"),
            ("{{if .X}}a{{else}}b", "template: unexpected EOF"),
            ("a{{end}}", "template: unexpected {{end}}"),
            ("{{else}}", "template: unexpected {{else}}"),
            ("{{nope .X}}", "template: function \"nope\" not defined"),
            ("{{$x}}", "template: undefined variable \"$x\""),
            ("{{.A", "template: unclosed action"),
            ("{{/* x", "template: unclosed comment"),
            ("{{(index .A 0}}", "template: unclosed left paren"),
            ("{{.A)}}", "template: unexpected right paren"),
            ("{{$ 1}}", "template: can't give argument to non-function"),
            ("{{.S 1}}", "can't give argument to non-function .S"),
            ("{{.S.T}}", "can't evaluate field T in type string"),
            ("{{'ab'}}", "template: malformed character constant"),
            (
                "{{range $i, $e := 3}}{{end}}",
                "can't use 3 to iterate over more than one variable",
            ),
            ("{{}}", "template: missing value for command"),
            ("{{if}}{{end}}", "template: missing value for if"),
            ("{{\"a}}", "template: unterminated quoted string"),
            ("{{break}}", "template: {{break}} outside {{range}}"),
            (
                "{{1 | 2}}",
                "template: non executable command in pipeline stage 2",
            ),
            (
                "{{\"a\" 1}}",
                "template: can't give argument to non-function",
            ),
            (
                "{{range 1.5}}{{end}}",
                "template: range can't iterate over 1.5",
            ),
            (
                "{{index nil 1}}",
                "template: error calling index: index of untyped nil",
            ),
            ("{{index (split \"a\" \",\") 3}}", "index out of range: 3"),
            ("{{len 3}}", "template: error calling len: len of type int"),
            (
                "{{upper}}",
                "template: wrong number of args for upper: want 1 got 0",
            ),
            ("{{eq 1 \"a\"}}", "incompatible types for comparison"),
            ("{{.A.B}}", "can't evaluate field A"),
        ] {
            let e = render_err(t, &v);
            assert!(e.starts_with("template: "), "{t}: {e}");
            assert!(e.contains(msg), "{t}: {e}");
            assert_eq!(e, e.trim_end_matches('.'), "{t}");
        }
    }

    #[test]
    fn range_over_lists_and_maps() {
        let v = json!({
            "NetworkSettings": {"Networks": {
                "zeta": {"IPAddress": "10.0.0.3"},
                "alpha": {"IPAddress": "10.0.0.2"}
            }},
            "Labels": {"b": "2", "a": "1"},
            "Args": ["x", "y"],
            "Empty": [],
            "Null": null
        });
        renders(
            &v,
            &[
                ("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "10.0.0.2 10.0.0.3 "),
                ("{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}", "a=1 b=2 "),
                ("{{range $v := .Args}}<{{$v}}>{{end}}", "<x><y>"),
                ("{{range $i, $a := .Args}}{{$i}}{{$a}}{{end}}", "0x1y"),
                ("{{range .Empty}}x{{else}}none{{end}}", "none"),
                ("{{range .Null}}x{{else}}none{{end}}", "none"),
                ("{{range .Missing}}x{{else}}none{{end}}", "none"),
                ("{{range 3}}{{.}}{{end}}", "012"),
                // `$` is the root inside the loop; variables set inside do not leak out.
                ("{{range .Args}}{{.}}{{len $.Args}}{{end}}", "x2y2"),
                (
                    "{{range .Args}}{{if eq . \"y\"}}{{break}}{{end}}{{.}}{{end}}|{{range .Args}}{{if eq . \"x\"}}{{continue}}{{end}}{{.}}{{end}}",
                    "x|y",
                ),
            ],
        );
        let mut names = Vec::new();
        for name in ["a", "b"] {
            names.push(render(&format!("{{{{range $n, $_ := .Labels}}}}{{{{if eq $n \"{name}\"}}}}{{{{$n}}}}{{{{end}}}}{{{{end}}}}"), &v));
        }
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn if_else_and_with() {
        let v = json!({
            "State": {"Running": true, "Status": "running", "ExitCode": 0, "Health": null},
            "Name": "web", "Empty": "", "Zero": 0, "List": [], "Map": {}, "Config": {"Env": ["A=1"]}
        });
        renders(
            &v,
            &[
                ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
                (
                    "{{if .Empty}}a{{else if .Zero}}b{{else if .List}}c{{else if .Map}}d{{else}}e{{end}}",
                    "e",
                ),
                (
                    "{{if eq .State.Status \"exited\"}}x{{else if eq .State.Status \"running\" \"paused\"}}y{{end}}",
                    "y",
                ),
                ("{{with .Config}}{{index .Env 0}}{{end}}", "A=1"),
                ("{{with .State.Health}}{{.Status}}{{else}}no health{{end}}", "no health"),
                ("{{with .Nope}}x{{else with .Name}}{{.}}{{end}}", "web"),
                // Missing fields and fields of null are false in conditions.
                ("{{if .State.Health.Status}}x{{else}}y{{end}}", "y"),
                ("{{if not .State.Nope}}none{{end}}", "none"),
                ("{{if and .State.Running (not .State.ExitCode)}}ok{{end}}", "ok"),
                (
                    "{{or .Empty .Zero \"dflt\"}}|{{and .Name .Zero}}|{{and .Name \"x\"}}",
                    "dflt|0|x",
                ),
                ("{{if or .Nope .Name}}yes{{end}}", "yes"),
                ("{{if $x := .Name}}{{$x}}{{end}}", "web"),
                ("{{if gt .State.ExitCode 0}}failed{{else}}fine{{end}}", "fine"),
                (
                    "{{lt 1 2}} {{le 2 2}} {{gt 1.5 2}} {{ge \"b\" \"a\"}} {{ne .Name \"x\"}} {{eq 1 1.0}}",
                    "true true false true true true",
                ),
            ],
        );
    }

    #[test]
    fn variables_and_parens() {
        let v = json!({
            "Name": "web",
            "NetworkSettings": {"Networks": {"mynet": {"IPAddress": "172.18.0.2"}}},
            "IPAM": {"Config": [{"Subnet": "10.1.0.0/16", "Gateway": "10.1.0.1"}]}
        });
        renders(
            &v,
            &[
                (
                    r#"{{(index .NetworkSettings.Networks "mynet").IPAddress}}"#,
                    "172.18.0.2",
                ),
                ("{{(index .IPAM.Config 0).Gateway}}", "10.1.0.1"),
                ("{{$.Name}}", "web"),
                ("{{$n := .Name}}{{$n}}-{{$n | upper}}", "web-WEB"),
                ("{{$c := index .IPAM.Config 0}}{{$c.Subnet}}", "10.1.0.0/16"),
                ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
                ("{{with $x := .Name}}{{$x}}{{.}}{{end}}", "webweb"),
                ("{{(len .Name)}} {{len (split \"a,b\" \",\")}}", "3 2"),
            ],
        );
        assert!(Template::parse("{{if true}}{{$y := 1}}{{end}}{{$y}}").is_err());
    }

    #[test]
    fn pipelines_and_docker_functions() {
        let v = json!({
            "Name": "web", "Args": ["-c", "x y"], "Config": {"Env": ["A=1", "B=<2>"]},
            "Mounts": [{}, {}], "Id": "0123456789abcdef", "Words": "hello wORld-foo_bar"
        });
        renders(
            &v,
            &[
                ("{{.Name | upper}}", "WEB"),
                ("{{.Name | upper | lower}}", "web"),
                ("{{json .Config.Env}}", r#"["A=1","B=\u003c2\u003e"]"#),
                ("{{json .Name | printf \"%s!\"}}", "\"web\"!"),
                ("{{len .Mounts}}", "2"),
                ("{{join .Args \",\"}}", "-c,x y"),
                ("{{split \"a:b:c\" \":\"}}", "[a b c]"),
                ("{{index (split .Name \"e\") 1}}", "b"),
                ("{{title .Words}}", "Hello WORld-Foo_bar"),
                (
                    "{{truncate .Id 12}}|{{truncate .Name 12}}",
                    "0123456789ab|web",
                ),
                ("{{pad .Name 1 2}}|{{pad \"\" 1 2}}|", " web  ||"),
                ("{{index .Config.Env 1 | lower}}", "b=<2>"),
                ("{{slice .Args 1}} {{slice .Name 1 2}}", "[x y] e"),
                ("{{index .Config \"Env\" 0}}", "A=1"),
                (
                    "{{print 1 2 \"a\" \"b\" 3}}|{{println .Name 1}}",
                    "1 2ab3|web 1\n",
                ),
                (
                    "{{\"lit\"}} {{1.5}} {{-2}} {{0x10}} {{'a'}} {{true}} {{1e6}} {{`r`}}",
                    "lit 1.5 -2 16 97 true 1e+06 r",
                ),
                ("{{\"tab\\there\"}}", "tab\there"),
                (
                    "{{join .Args \"\\n\"}}\\n{{range .Args}}{{.}}{{\"\\n\"}}{{end}}",
                    "-c\nx y\n-c\nx y\n",
                ),
            ],
        );
    }

    #[test]
    fn printf_verbs() {
        let v = json!({"Name": "web", "N": 42, "F": 3.14159, "L": ["a", "b"], "B": true});
        renders(
            &v,
            &[
                ("{{printf \"%-6s|\" .Name}}", "web   |"),
                (
                    "{{printf \"%6s|%.2s|%q\" .Name .Name .Name}}",
                    "   web|we|\"web\"",
                ),
                (
                    "{{printf \"%d %5d %-4d| %05d %x %X %o %b %+d\" .N .N .N .N .N .N .N .N .N}}",
                    "42    42 42  | 00042 2a 2A 52 101010 +42",
                ),
                (
                    "{{printf \"%v %v %t %v\" .N .L .B .F}}",
                    "42 [a b] true 3.14159",
                ),
                (
                    "{{printf \"%.2f %6.1f %e %g %05.1f\" .F .F .F .F .F}}",
                    "3.14    3.1 3.141590e+00 3.14159 003.1",
                ),
                (
                    "{{printf \"%.2g|%.3g|%g|%v\" 123456.0 1.0 100000.0 123456789.0}}",
                    "1.2e+05|1|100000|1.23456789e+08",
                ),
                (
                    "{{printf \"%s %d\" .N .Name}}",
                    "%!s(int=42) %!d(string=web)",
                ),
                (
                    "{{printf \"%d%%\" 5}} {{printf \"%d\"}} {{printf \"%d\" 1 2}}",
                    "5% %!d(MISSING) 1%!(EXTRA int=2)",
                ),
                (
                    "{{printf \"%c %q %U %x\" 65 65 65 \"hi\"}}",
                    "A 'A' U+0041 6869",
                ),
                ("{{printf \"%*d|%-*d|\" 4 1 3 2}}", "   1|2  |"),
                (
                    "{{printf \"%s\" nil}}|{{print nil}}|{{printf \"%v\" 1e21}}|{{0.0000001}}",
                    "%!s(<nil>)|<nil>|1e+21|1e-07",
                ),
            ],
        );
    }

    #[test]
    fn trimming_and_comments() {
        let v = json!({"A": "a", "B": "b", "L": [1, 2]});
        renders(
            &v,
            &[
                ("{{.A}}  \n  {{- .B}}", "ab"),
                ("{{.A -}}  \n  {{.B}}", "ab"),
                ("x {{- /* note */ -}} y", "xy"),
                ("x{{/* a\nmultiline }} comment */}}y", "xy"),
                ("{{range .L -}}\n  {{.}}\n{{- end}}", "12"),
                ("{{-3}}", "-3"),
                ("{{printf \"}}\"}}", "}}"),
            ],
        );
        assert!(Template::parse("{{/* x */ .A}}").is_err());
    }
}
