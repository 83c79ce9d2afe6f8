//! The JSON the reports are written in, read back: flat objects of scalars, one a line.

use std::collections::BTreeMap;

/// A JSON scalar (our reports are flat objects of scalars).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// true / false.
    Bool(bool),
    /// null.
    Null,
}

impl Scalar {
    pub(crate) fn str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses one flat JSON object (`{"k": scalar, ...}`).
pub fn parse_object(line: &str) -> Result<BTreeMap<String, Scalar>, String> {
    let mut p = Parser {
        s: line.as_bytes(),
        i: 0,
    };
    let mut m = BTreeMap::new();
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
        return finish(p, m);
    }
    loop {
        p.ws();
        let k = p.string()?;
        p.ws();
        p.eat(b':')?;
        p.ws();
        let v = p.scalar()?;
        m.insert(k, v);
        p.ws();
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {
                p.i += 1;
                break;
            }
            _ => return Err(format!("expected , or }} at byte {}", p.i)),
        }
    }
    finish(p, m)
}

/// Accepts the object if nothing but white space follows it.
fn finish(
    mut p: Parser<'_>,
    m: BTreeMap<String, Scalar>,
) -> Result<BTreeMap<String, Scalar>, String> {
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing text at byte {}", p.i));
    }
    Ok(m)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {} at byte {}", c as char, self.i))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or("unterminated escape")?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or("bad \\u escape")?;
                            self.i += 4;
                            char::from_u32(hex).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(format!("bad escape at byte {}", self.i)),
                    };
                    let mut b = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }
    fn scalar(&mut self) -> Result<Scalar, String> {
        let rest = &self.s[self.i..];
        for (lit, v) in [
            (&b"true"[..], Scalar::Bool(true)),
            (b"false", Scalar::Bool(false)),
            (b"null", Scalar::Null),
        ] {
            if rest.starts_with(lit) {
                self.i += lit.len();
                return Ok(v);
            }
        }
        if self.peek() == Some(b'"') {
            return self.string().map(Scalar::Str);
        }
        let start = self.i;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|n| n.parse().ok())
            .map(Scalar::Num)
            .ok_or_else(|| format!("bad value at byte {start}"))
    }
}
