//! A minimal writer (and, for tests and checks, reader) of the cpio "newc" format that the
//! Linux kernel unpacks as an initramfs. Writing the archive ourselves means no root is
//! needed for the `/dev/console` node: it is only a header in the archive.

pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFLNK: u32 = 0o120000;

/// Builds a newc archive in memory. All entries are owned by root with mtime 0, so the
/// output depends only on the content.
pub struct CpioWriter {
    buf: Vec<u8>,
    next_ino: u32,
}

impl Default for CpioWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CpioWriter {
    pub fn new() -> Self {
        CpioWriter {
            buf: Vec::new(),
            next_ino: 1,
        }
    }

    fn pad4(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        let name = name.trim_start_matches('/');
        let ino = self.next_ino;
        self.next_ino += 1;
        let nlink = if mode & 0o170000 == S_IFDIR { 2 } else { 1 };
        let fields: [u32; 13] = [
            ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            data.len() as u32,
            0, // dev major
            0, // dev minor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad4();
        self.buf.extend_from_slice(data);
        self.pad4();
    }

    pub fn dir(&mut self, name: &str, perm: u32) {
        self.entry(name, S_IFDIR | (perm & 0o7777), (0, 0), &[]);
    }

    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, S_IFREG | (perm & 0o7777), (0, 0), data);
    }

    pub fn char_dev(&mut self, name: &str, perm: u32, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | (perm & 0o7777), (major, minor), &[]);
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, S_IFLNK | 0o777, (0, 0), target.as_bytes());
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.next_ino = 0;
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        // The kernel does not need it, but tools like the archive padded to 512 bytes.
        while !self.buf.len().is_multiple_of(512) {
            self.buf.push(0);
        }
        self.buf
    }
}

/// One entry read back from a newc archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioEntry {
    pub name: String,
    pub mode: u32,
    pub rdev: (u32, u32),
    pub data: Vec<u8>,
}

/// Parses a newc archive (up to the trailer). Used by the tests and as a self-check.
pub fn read_newc(mut buf: &[u8]) -> Result<Vec<CpioEntry>, String> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    loop {
        if buf.len() < 110 {
            return Err(format!("truncated header at offset {offset}"));
        }
        if &buf[..6] != b"070701" {
            return Err(format!("bad magic at offset {offset}"));
        }
        let field = |i: usize| -> Result<u32, String> {
            let s = std::str::from_utf8(&buf[6 + 8 * i..14 + 8 * i]).map_err(|e| e.to_string())?;
            u32::from_str_radix(s, 16).map_err(|e| format!("bad hex field {i}: {e}"))
        };
        let mode = field(1)?;
        let filesize = field(6)? as usize;
        let rdev = (field(9)?, field(10)?);
        let namesize = field(11)? as usize;
        let name_end = 110 + namesize;
        if buf.len() < name_end || namesize == 0 {
            return Err("truncated name".into());
        }
        let name = String::from_utf8_lossy(&buf[110..name_end - 1]).into_owned();
        let data_start = (name_end + 3) & !3;
        let data_end = data_start + filesize;
        if buf.len() < data_end {
            return Err(format!("truncated data of {name}"));
        }
        if name == "TRAILER!!!" {
            return Ok(out);
        }
        out.push(CpioEntry {
            name,
            mode,
            rdev,
            data: buf[data_start..data_end].to_vec(),
        });
        let next = (data_end + 3) & !3;
        offset += next;
        buf = &buf[next.min(buf.len())..];
    }
}
