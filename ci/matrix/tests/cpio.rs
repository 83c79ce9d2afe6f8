//! The initramfs cpio writer and reader.

use uring_matrix::cpio::*;

// ---- cpio --------------------------------------------------------------------------------

fn sample_archive() -> Vec<u8> {
    let mut w = CpioWriter::new();
    w.dir("dev", 0o755);
    w.dir("/tmp", 0o1777);
    w.char_dev("dev/console", 0o600, 5, 1);
    w.file("init", 0o755, b"#!hello\n");
    w.file("odd", 0o644, b"abcde"); // length not a multiple of 4
    w.symlink("sbin-init", "/init");
    w.finish()
}

#[test]
fn cpio_round_trip() {
    let a = sample_archive();
    assert_eq!(a.len() % 512, 0);
    assert_eq!(&a[..6], b"070701");
    let e = read_newc(&a).unwrap();
    let names: Vec<&str> = e.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        ["dev", "tmp", "dev/console", "init", "odd", "sbin-init"]
    );
    assert_eq!(e[1].mode, S_IFDIR | 0o1777);
    assert_eq!(e[2].mode, S_IFCHR | 0o600);
    assert_eq!(e[2].rdev, (5, 1));
    assert_eq!(e[3].data, b"#!hello\n");
    assert_eq!(e[3].mode, S_IFREG | 0o755);
    assert_eq!(e[4].data, b"abcde");
    assert_eq!(e[5].data, b"/init");
}

#[test]
fn cpio_header_bytes() {
    let mut w = CpioWriter::new();
    w.char_dev("dev/console", 0o600, 5, 1);
    let a = w.finish();
    let h = std::str::from_utf8(&a[..110]).unwrap();
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
    // rdevminor, namesize, check
    assert_eq!(&h[6..14], "00000001");
    assert_eq!(&h[14..22], "00002180"); // S_IFCHR | 0600
    assert_eq!(&h[22..38], "0000000000000000");
    assert_eq!(&h[38..46], "00000001");
    assert_eq!(&h[54..62], "00000000");
    assert_eq!(&h[78..86], "00000005");
    assert_eq!(&h[86..94], "00000001");
    assert_eq!(&h[94..102], "0000000c"); // "dev/console\0"
    assert_eq!(&a[110..122], b"dev/console\0");
    // 110 + 12 = 122 -> padded to 124, then the trailer header.
    assert_eq!(&a[122..124], b"\0\0");
    assert_eq!(&a[124..130], b"070701");
    assert!(std::str::from_utf8(&a[234..245])
        .unwrap()
        .starts_with("TRAILER!!!"));
}

#[test]
fn cpio_accepted_by_gnu_cpio() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("cpio")
        .args(["-t", "-v", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("cpio not installed: skipping the cross-check");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&sample_archive())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[2].starts_with("crw-------"), "{}", lines[2]);
    assert!(
        lines[2].contains("5,") && lines[2].ends_with("dev/console"),
        "{}",
        lines[2]
    );
    assert!(lines[1].starts_with("drwxrwxrwt"), "{}", lines[1]);
    assert!(lines[3].starts_with("-rwxr-xr-x") && lines[3].ends_with(" init"));
    assert!(lines[5].starts_with("lrwxrwxrwx") && lines[5].ends_with("sbin-init -> /init"));
}

#[test]
fn cpio_reader_rejects_garbage() {
    assert!(read_newc(b"not an archive at all, definitely not one, no, nope ....................................................................").is_err());
    let a = sample_archive();
    assert!(read_newc(&a[..200]).is_err());
}
