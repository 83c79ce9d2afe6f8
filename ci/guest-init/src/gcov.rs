//! The kernel's gcov counters carried over the results channel (`uring.gcov=1`).
//!
//! A kernel with `CONFIG_GCOV_KERNEL` exports one `.gcda` file per instrumented object under
//! [`GCOV_ROOT`], at the object's absolute build path (kernel/gcov/fs.c `add_node`). After
//! the suite's runs guest-init sends each as a block: a begin marker with the path and the
//! file's length, the file in base64 lines (the channel carries text lines), an end marker;
//! then one [`GCOV_DONE`] marker with the number of blocks sent. The host ([`parse_blocks`])
//! checks every length and the count, so a cut channel is an error, not a partial coverage.

/// Where debugfs shows the gcov core's files.
pub const GCOV_ROOT: &str = "/sys/kernel/debug/gcov";
pub const GCOV_BEGIN: &str = "@@URING-GCOV-BEGIN";
pub const GCOV_END: &str = "@@URING-GCOV-END";
/// Followed by ` files=N@@`: the blocks guest-init sent.
pub const GCOV_DONE: &str = "@@URING-GCOV-DONE";
/// Base64 characters per line of a block.
const LINE: usize = 76;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648, with `=` padding).
pub fn base64_encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// The inverse of [`base64_encode`]; an error for any character outside the alphabet, a
/// length that is not a multiple of 4, or padding anywhere but at the end.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "base64 length {} is not a multiple of 4",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (q, quad) in bytes.chunks(4).enumerate() {
        let last = q + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err("base64 padding in the middle".into());
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            let v = ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or_else(|| format!("not a base64 character: {:?}", c as char))?;
            n = (n << 6) | v as u32;
        }
        n <<= 6 * pad as u32;
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Ok(out)
}

/// Whether `path` can travel in a marker and be written under a host directory: absolute,
/// no whitespace or `@`, no `.` or `..` component.
pub fn path_ok(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(|c: char| c.is_whitespace() || c == '@')
        && path
            .split('/')
            .skip(1)
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// The block that carries the `.gcda` file at `path` (relative to [`GCOV_ROOT`], so the
/// object's build path) with contents `data`.
pub fn gcov_block(path: &str, data: &[u8]) -> Vec<u8> {
    let mut block = format!("{GCOV_BEGIN} path={path} bytes={}@@\n", data.len());
    let text = base64_encode(data);
    for line in text.as_bytes().chunks(LINE) {
        block.push_str(std::str::from_utf8(line).unwrap_or_default());
        block.push('\n');
    }
    block.push_str(&format!("{GCOV_END} path={path}@@\n"));
    block.into_bytes()
}

/// The marker after the last block.
pub fn done_marker(files: usize) -> String {
    format!("{GCOV_DONE} files={files}@@")
}

/// The value of `key=` in a marker line (up to a space or `@`).
fn value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(key)? + key.len();
    let rest = &line[at..];
    Some(&rest[..rest.find([' ', '@']).unwrap_or(rest.len())])
}

/// The `.gcda` files in the channel's text `text`, as (build path, contents). An error when
/// there is no done marker, a block is cut or its length or path is wrong, or the number of
/// blocks is not the one announced.
pub fn parse_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some((path, len, b64)) = open.as_mut() {
            if line.starts_with(GCOV_END) {
                if value(line, "path=") != Some(path.as_str()) {
                    return Err(format!("gcov block of {path} ends with another path"));
                }
                let data = base64_decode(b64).map_err(|e| format!("gcov block of {path}: {e}"))?;
                if data.len() != *len {
                    return Err(format!(
                        "gcov block of {path}: {} bytes, its marker says {len}",
                        data.len()
                    ));
                }
                files.push((std::mem::take(path), data));
                open = None;
            } else if line.starts_with("@@URING-") {
                return Err(format!("gcov block of {path} is cut by {line}"));
            } else {
                b64.push_str(line);
            }
            continue;
        }
        if line.starts_with(GCOV_BEGIN) {
            let path = value(line, "path=").filter(|p| path_ok(p));
            let len = value(line, "bytes=").and_then(|v| v.parse().ok());
            let (Some(path), Some(len)) = (path, len) else {
                return Err(format!("bad gcov begin marker: {line}"));
            };
            // Exactly the marker gcov_block writes (nothing after a space or `@` lost).
            if line != format!("{GCOV_BEGIN} path={path} bytes={len}@@") {
                return Err(format!("bad gcov begin marker: {line}"));
            }
            open = Some((path.to_string(), len, String::new()));
        } else if line.starts_with(GCOV_DONE) {
            let n: usize = value(line, "files=")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("bad gcov done marker: {line}"))?;
            if n != files.len() {
                return Err(format!(
                    "{n} gcov files announced, {} received",
                    files.len()
                ));
            }
            return Ok(files);
        }
    }
    Err(match open {
        Some((path, ..)) => format!("gcov block of {path} is cut (the channel ends inside it)"),
        None => format!("no {GCOV_DONE} marker (the guest sent no gcov data, or was cut)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_and_round_trips() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all)).unwrap(), all);
        assert!(base64_decode("Zm9").is_err());
        assert!(base64_decode("Zg==Zm9v").is_err());
        assert!(base64_decode("Zm9*").is_err());
    }

    #[test]
    fn blocks_round_trip_and_every_cut_is_an_error() {
        let a: Vec<u8> = (0..200u8).collect();
        let mut text = String::from("@@URING-INIT kernel=x@@\n");
        text.push_str(std::str::from_utf8(&gcov_block("/b/io_uring/rsrc.gcda", &a)).unwrap());
        text.push_str(std::str::from_utf8(&gcov_block("/b/io_uring/nop.gcda", b"")).unwrap());
        text.push_str(&done_marker(2));
        text.push('\n');
        let got = parse_blocks(&text).unwrap();
        assert_eq!(
            got,
            vec![
                ("/b/io_uring/rsrc.gcda".to_string(), a.clone()),
                ("/b/io_uring/nop.gcda".to_string(), Vec::new())
            ]
        );
        // Every strict prefix that ends at a line boundary loses something.
        let lines: Vec<&str> = text.lines().collect();
        for n in 0..lines.len() {
            assert!(
                parse_blocks(&lines[..n].join("\n")).is_err(),
                "prefix of {n} lines"
            );
        }
        // A count that disagrees, a lost base64 line, a wrong length.
        assert!(parse_blocks(&text.replace("files=2", "files=3")).is_err());
        let lost: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, l)| *l)
            .collect();
        assert!(parse_blocks(&lost.join("\n")).is_err());
        assert!(parse_blocks(&text.replace("bytes=200", "bytes=199")).is_err());
    }

    #[test]
    fn paths_that_could_escape_or_break_a_marker_are_refused() {
        assert!(path_ok("/var/cache/build-7.2-gcov/io_uring/rsrc.gcda"));
        for bad in [
            "rel/x.gcda",
            "/a/../x.gcda",
            "/a/./x",
            "/a b/x",
            "/a@@/x",
            "/a//x",
        ] {
            assert!(!path_ok(bad), "{bad}");
            let block = String::from_utf8(gcov_block(bad, b"x")).unwrap();
            assert!(parse_blocks(&format!("{block}{}\n", done_marker(1))).is_err());
        }
    }
}
