//! Reading the machine's own apt configuration (to learn which Debian mirror it uses),
//! the kernel manifest and lock, and comparing Debian versions.

use std::cmp::Ordering;

/// One source entry of the machine's apt configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    pub types: Vec<String>,
    pub uris: Vec<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub enabled: bool,
}

/// Parses a deb822 `.sources` file.
pub fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut out = Vec::new();
    for para in text.split("\n\n").flat_map(|p| p.split("\r\n\r\n")) {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in para.lines() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(last) = fields.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |k: &str| -> Vec<String> {
            fields
                .iter()
                .filter(|(fk, _)| fk == k)
                .flat_map(|(_, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .collect()
        };
        let uris = get("uris");
        if uris.is_empty() {
            continue;
        }
        let enabled = get("enabled").first().map(|v| v != "no").unwrap_or(true);
        out.push(SourceEntry {
            types: get("types"),
            uris,
            suites: get("suites"),
            components: get("components"),
            enabled,
        });
    }
    out
}

/// Parses one-line-style `sources.list` text.
pub fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut rest = line;
        let Some((ty, r)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        rest = r.trim_start();
        if ty != "deb" && ty != "deb-src" {
            continue;
        }
        if rest.starts_with('[') {
            match rest.find(']') {
                Some(e) => rest = rest[e + 1..].trim_start(),
                None => continue,
            }
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        out.push(SourceEntry {
            types: vec![ty.to_string()],
            uris: vec![uri.to_string()],
            suites: vec![suite.to_string()],
            components: words.map(str::to_string).collect(),
            enabled: true,
        });
    }
    out
}

/// The mirror URIs to use: the Debian archive and (if configured) its security archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrors {
    pub archive: String,
    pub security: String,
}

/// Picks the Debian archive and security URIs from the machine's source entries.
/// The archive is the first enabled `deb` entry with a non-security suite; the security
/// archive is the first with a `*-security` suite, or else derived from the archive URI
/// (`.../debian` -> `.../debian-security`, Debian's own layout).
pub fn pick_mirrors(entries: &[SourceEntry]) -> Option<Mirrors> {
    let usable = |e: &&SourceEntry| e.enabled && e.types.iter().any(|t| t == "deb");
    let good_uri = |u: &str| !u.starts_with("cdrom:");
    let archive = entries
        .iter()
        .filter(usable)
        .filter(|e| {
            e.suites
                .iter()
                .any(|s| !s.ends_with("-security") && !s.contains('/'))
        })
        .flat_map(|e| e.uris.iter())
        .find(|u| good_uri(u) && !u.trim_end_matches('/').ends_with("-security"))?
        .trim_end_matches('/')
        .to_string();
    let security = entries
        .iter()
        .filter(usable)
        .filter(|e| {
            e.suites
                .iter()
                .any(|s| s.ends_with("-security") || s.ends_with("/updates"))
        })
        .flat_map(|e| e.uris.iter())
        .find(|u| good_uri(u))
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("{archive}-security"));
    Some(Mirrors { archive, security })
}

/// One kernel of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Short name, used for the output directory and the table column.
    pub name: String,
    /// Debian suites to list, e.g. `bookworm,bookworm-security`; or the single
    /// `build:CONFIG` (see [`ManifestEntry::build_config`]).
    pub suites: Vec<String>,
    /// Package name pattern (`*` matches anything); the highest candidate version among
    /// the matching packages of those suites is used. For a `build:` entry, the source
    /// package `linux-source-X.Y`.
    pub package: String,
    /// The Debian architecture of the package (`arch=ARCH` after the package; amd64 when
    /// absent): which packages apt lists, and which --arch boots it.
    pub arch: String,
}

/// The Debian architectures a manifest line can name: those the matrix boots.
pub const MANIFEST_ARCHES: &[&str] = &["amd64", "arm64", "ppc64el", "s390x"];

/// The Debian architectures ci/build-kernel.sh builds kernels for (a fragment's
/// `# uring-arch:` line, checked against the manifest's `arch=` by `--arch`).
pub const BUILD_ARCHES: &[&str] = &["amd64", "arm64"];

/// How a `build:` manifest entry's suites column starts.
pub const BUILD_PREFIX: &str = "build:";

impl ManifestEntry {
    /// For a kernel the matrix builds itself (suites column `build:CONFIG`): CONFIG, the
    /// name of fixtures/kernel-configs/CONFIG.config given to `ci/build-kernel.sh --config`.
    pub fn build_config(&self) -> Option<&str> {
        match self.suites.as_slice() {
            [s] => s.strip_prefix(BUILD_PREFIX),
            _ => None,
        }
    }

    /// For a `build:` entry, the X.Y of its `linux-source-X.Y` package
    /// (`ci/build-kernel.sh --version`).
    pub fn source_version(&self) -> Option<&str> {
        self.build_config()?;
        self.package.strip_prefix("linux-source-")
    }
}

/// Whether `name` can name a kernel config fragment (fixtures/kernel-configs/NAME.config):
/// lower-case letters, digits, `-` and `_`, not starting with `-` or `_`.
pub fn valid_config_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Whether `v` is an `X.Y` kernel series (digits dot digits).
fn valid_series(v: &str) -> bool {
    v.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// Parses `fixtures/kernels.manifest`: `name suites package-glob` per line, `#` comments;
/// `name build:CONFIG linux-source-X.Y` for a kernel ci/build-kernel.sh builds.
pub fn parse_manifest(text: &str) -> Result<Vec<ManifestEntry>, String> {
    let mut out: Vec<ManifestEntry> = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() != 3 && w.len() != 4 {
            return Err(format!(
                "manifest line {}: expected `name suites package [arch=ARCH]`",
                no + 1
            ));
        }
        let arch = match w.get(3) {
            None => "amd64",
            Some(a) => a
                .strip_prefix("arch=")
                .filter(|a| MANIFEST_ARCHES.contains(a))
                .ok_or_else(|| {
                    format!(
                        "manifest line {}: the fourth column is arch=ARCH with ARCH one of {}, \
                         not {a:?}",
                        no + 1,
                        MANIFEST_ARCHES.join(", ")
                    )
                })?,
        };
        if !w[0]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
        {
            return Err(format!("manifest line {}: bad name {:?}", no + 1, w[0]));
        }
        if out.iter().any(|e| e.name == w[0]) {
            return Err(format!("manifest line {}: duplicate name {}", no + 1, w[0]));
        }
        if w[1].contains(BUILD_PREFIX) {
            let config = w[1].strip_prefix(BUILD_PREFIX).unwrap_or("");
            if !valid_config_name(config) {
                return Err(format!(
                    "manifest line {}: `build:CONFIG` wants one config name (lower case, \
                     digits, - and _), not {:?}",
                    no + 1,
                    w[1]
                ));
            }
            if !BUILD_ARCHES.contains(&arch) {
                return Err(format!(
                    "manifest line {}: ci/build-kernel.sh builds {} kernels, not {arch}",
                    no + 1,
                    BUILD_ARCHES.join(" and ")
                ));
            }
            if !w[2].strip_prefix("linux-source-").is_some_and(valid_series) {
                return Err(format!(
                    "manifest line {}: a build: entry's package is linux-source-X.Y, not {}",
                    no + 1,
                    w[2]
                ));
            }
        }
        out.push(ManifestEntry {
            name: w[0].to_string(),
            suites: w[1]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            package: w[2].to_string(),
            arch: arch.to_string(),
        });
    }
    Ok(out)
}

/// One line of `fixtures/kernels.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    pub name: String,
    pub package: String,
    pub version: String,
    pub sha256: String,
}

pub fn parse_lock(text: &str) -> Vec<LockEntry> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 4).then(|| LockEntry {
                name: w[0].into(),
                package: w[1].into(),
                version: w[2].into(),
                sha256: w[3].into(),
            })
        })
        .collect()
}

pub fn format_lock(entries: &[LockEntry]) -> String {
    let mut s = String::from(
        "# Written by uring-matrix (ci/matrix.sh): the kernel packages the last run used.\n\
         # name package version sha256-of-the-.deb\n",
    );
    for e in entries {
        s.push_str(&format!(
            "{} {} {} {}\n",
            e.name, e.package, e.version, e.sha256
        ));
    }
    s
}

/// `*`-only glob matching (for package names).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Compares two Debian version strings the way dpkg does.
pub fn compare_debian_versions(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rfind('-') {
            Some(i) => (epoch, &rest[..i], &rest[i + 1..]),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_alphabetic() => c as i32,
            Some(c) => c as i32 + 256,
        }
    }
    fn part(mut a: &[u8], mut b: &[u8]) -> Ordering {
        while !a.is_empty() || !b.is_empty() {
            // Non-digit prefix.
            loop {
                let ca = a.first().copied().filter(|c| !c.is_ascii_digit());
                let cb = b.first().copied().filter(|c| !c.is_ascii_digit());
                if ca.is_none() && cb.is_none() {
                    break;
                }
                let (oa, ob) = (order(ca), order(cb));
                if oa != ob {
                    return oa.cmp(&ob);
                }
                a = &a[ca.is_some() as usize..];
                b = &b[cb.is_some() as usize..];
            }
            // Digit run.
            let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
            let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let da = std::str::from_utf8(&a[..na])
                .unwrap()
                .trim_start_matches('0');
            let db = std::str::from_utf8(&b[..nb])
                .unwrap()
                .trim_start_matches('0');
            let o = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
            if o != Ordering::Equal {
                return o;
            }
            a = &a[na..];
            b = &b[nb..];
        }
        Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| part(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| part(ra.as_bytes(), rb.as_bytes()))
}

/// Parses `apt-cache show` output into stanzas of (field, value).
pub fn parse_stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            continue; // continuation lines (descriptions) are not needed
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn stanza_field<'a>(st: &'a [(String, String)], key: &str) -> Option<&'a str> {
    st.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}
