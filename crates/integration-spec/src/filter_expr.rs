//! Filter expressions of the kind Gorgias's views take (reference §6.20): a JavaScript-like
//! boolean expression of operator calls over attribute paths, e.g.
//! `eq(ticket.status, 'open') && containsAny(ticket.tags.name, ['vip'])`, with `&&`, `||`, `!`
//! and parentheses; literals are quoted strings, numbers, `true`/`false`/`null` and lists.
//!
//! One parser for both sides of the wire: the planner checks what a model wrote against the
//! operators and attributes the definition declares (see `filter_language` in
//! `integrations/README.md`), and the sandbox parses what it receives with it before it
//! evaluates.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Call(String, Vec<Arg>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Path(Vec<String>),
    Literal(Value),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("unexpected character {0:?} at {1}")]
    Unexpected(char, usize),
    #[error("unexpected end of expression")]
    End,
    #[error("unknown operator {0:?}")]
    UnknownOperator(String),
    #[error("operator {0} takes {1} argument(s)")]
    Arity(String, usize),
    #[error("the first argument of {0} must be a ticket attribute")]
    NotAPath(String),
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    operators: &'a [(&'a str, usize)],
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.src.len() && self.src[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.src.get(self.pos).copied()
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.src[self.pos..].starts_with(token.as_bytes()) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), FilterError> {
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => Err(FilterError::Unexpected(x as char, self.pos)),
            None => Err(FilterError::End),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.peek() == Some(b'!') && self.src.get(self.pos + 1) != Some(&b'=') {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(b'(') {
            self.pos += 1;
            let e = self.or()?;
            self.expect(b')')?;
            return Ok(e);
        }
        self.call()
    }

    fn ident(&mut self) -> Result<String, FilterError> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.src.len()
            && (self.src[self.pos].is_ascii_alphanumeric() || self.src[self.pos] == b'_')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return match self.src.get(self.pos) {
                Some(c) => Err(FilterError::Unexpected(*c as char, self.pos)),
                None => Err(FilterError::End),
            };
        }
        Ok(String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    fn call(&mut self) -> Result<Expr, FilterError> {
        let name = self.ident()?;
        let Some((_, arity)) = self.operators.iter().find(|(n, _)| *n == name) else {
            return Err(FilterError::UnknownOperator(name));
        };
        self.expect(b'(')?;
        let mut args = Vec::new();
        if self.peek() != Some(b')') {
            loop {
                args.push(self.arg()?);
                if self.peek() == Some(b',') {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(b')')?;
        if args.len() != *arity {
            return Err(FilterError::Arity(name, *arity));
        }
        if !matches!(args.first(), Some(Arg::Path(_))) {
            return Err(FilterError::NotAPath(name));
        }
        Ok(Expr::Call(name, args))
    }

    fn literal(&mut self) -> Result<Value, FilterError> {
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let mut out = Vec::new();
                while let Some(&c) = self.src.get(self.pos) {
                    self.pos += 1;
                    if c == b'\\' {
                        if let Some(&n) = self.src.get(self.pos) {
                            out.push(n);
                            self.pos += 1;
                        }
                    } else if c == q {
                        return Ok(Value::String(String::from_utf8_lossy(&out).into_owned()));
                    } else {
                        out.push(c);
                    }
                }
                Err(FilterError::End)
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.peek() != Some(b']') {
                    loop {
                        items.push(self.literal()?);
                        if self.peek() == Some(b',') {
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(b']')?;
                Ok(Value::Array(items))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self.pos < self.src.len()
                    && (self.src[self.pos].is_ascii_digit() || self.src[self.pos] == b'.')
                {
                    self.pos += 1;
                }
                let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                serde_json::from_str(&text).map_err(|_| FilterError::Unexpected(c as char, start))
            }
            Some(_) => {
                let word = self.ident()?;
                match word.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" | "undefined" => Ok(Value::Null),
                    _ => Err(FilterError::Unexpected(
                        word.chars().next().unwrap_or('?'),
                        self.pos,
                    )),
                }
            }
            None => Err(FilterError::End),
        }
    }

    fn arg(&mut self) -> Result<Arg, FilterError> {
        let save = self.pos;
        if let Some(c) = self.peek()
            && c.is_ascii_alphabetic()
        {
            let first = self.ident()?;
            if matches!(first.as_str(), "true" | "false" | "null" | "undefined") {
                self.pos = save;
                return self.literal().map(Arg::Literal);
            }
            let mut path = vec![first];
            while self.src.get(self.pos) == Some(&b'.') {
                self.pos += 1;
                path.push(self.ident()?);
            }
            return Ok(Arg::Path(path));
        }
        self.literal().map(Arg::Literal)
    }
}

/// Parses an expression whose operators (with their arities) are `operators`.
pub fn parse(src: &str, operators: &[(&str, usize)]) -> Result<Expr, FilterError> {
    let mut p = Parser {
        src: src.as_bytes(),
        pos: 0,
        operators,
    };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(c) => Err(FilterError::Unexpected(c as char, p.pos)),
    }
}

impl Expr {
    /// Every attribute path the expression reads, in order.
    pub fn paths(&self) -> Vec<&[String]> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut out = a.paths();
                out.extend(b.paths());
                out
            }
            Expr::Not(a) => a.paths(),
            Expr::Call(_, args) => args
                .iter()
                .filter_map(|a| match a {
                    Arg::Path(p) => Some(p.as_slice()),
                    Arg::Literal(_) => None,
                })
                .collect(),
        }
    }
}

/// A filter language as a definition declares it (`filter_languages:`): the operators with
/// their argument names, and the attribute paths a filter may read.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterLanguage {
    pub name: String,
    pub summary: String,
    pub operators: Vec<(String, Vec<String>)>,
    /// Path → what it holds; a `*` segment matches any one segment.
    pub attributes: Vec<(String, String)>,
}

impl FilterLanguage {
    /// The grammar as the model reads it, generated from the declaration so the two cannot
    /// drift apart.
    pub fn grammar(&self) -> String {
        let operators: Vec<String> = self
            .operators
            .iter()
            .map(|(name, args)| format!("{name}({})", args.join(", ")))
            .collect();
        let attributes: Vec<String> = self
            .attributes
            .iter()
            .map(|(path, holds)| {
                if holds.is_empty() {
                    path.clone()
                } else {
                    format!("{path} ({holds})")
                }
            })
            .collect();
        format!(
            "{} Operators: {}. Combine with &&, ||, ! and parentheses; quote strings with '. Attributes: {}.",
            self.summary.trim(),
            operators.join(", "),
            attributes.join("; ")
        )
    }

    /// Checks an expression: it parses, every operator is declared with its arity, and every
    /// attribute it reads is declared. The error says what to write instead.
    pub fn check(&self, src: &str) -> Result<(), String> {
        let arities: Vec<(&str, usize)> = self
            .operators
            .iter()
            .map(|(name, args)| (name.as_str(), args.len()))
            .collect();
        let expr = parse(src, &arities).map_err(|e| match e {
            FilterError::UnknownOperator(op) => {
                let known: Vec<&str> = arities.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown operator `{op}`; the operators are {}",
                    known.join(", ")
                )
            }
            e => format!(
                "{e}; write e.g. eq(ticket.status, 'open') && isEmpty(ticket.assignee_user)"
            ),
        })?;
        for path in expr.paths() {
            let wanted = path.join(".");
            if !self.attributes.iter().any(|(a, _)| matches_path(a, path)) {
                let mut closest: Vec<(f64, &str)> = self
                    .attributes
                    .iter()
                    .map(|(a, _)| (strsim::jaro_winkler(a, &wanted), a.as_str()))
                    .collect();
                closest.sort_by(|a, b| b.0.total_cmp(&a.0));
                let closest: Vec<&str> = closest.iter().take(3).map(|(_, a)| *a).collect();
                return Err(format!(
                    "unknown attribute `{wanted}` (it would match nothing); closest: {}",
                    closest.join(", ")
                ));
            }
        }
        Ok(())
    }
}

fn matches_path(pattern: &str, path: &[String]) -> bool {
    let segments: Vec<&str> = pattern.split('.').collect();
    segments.len() == path.len() && segments.iter().zip(path).all(|(s, p)| *s == "*" || s == p)
}
