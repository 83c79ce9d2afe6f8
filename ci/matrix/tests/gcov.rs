//! `--gcov`: the .gcda files read from a results channel's text and saved at their paths.

use uring_guest_init::gcov::{done_marker, gcov_block};
use uring_matrix::save_gcov;

fn channel(blocks: &[(&str, &[u8])], done: usize) -> String {
    let mut text = String::from("@@URING-INIT kernel=7.2.13 channel=debugcon@@\n");
    for (path, data) in blocks {
        text.push_str(&String::from_utf8(gcov_block(path, data)).unwrap());
    }
    text + &done_marker(done) + "\n@@URING-POWEROFF@@\n"
}

#[test]
fn saves_every_file_at_its_build_path_and_nothing_from_a_cut_channel() {
    let dir = std::env::temp_dir().join(format!("uring-matrix-gcov-{}", std::process::id()));
    let out = dir.join("gcov");
    let text = channel(
        &[
            ("/k/build/io_uring/rsrc.gcda", b"rsrc"),
            ("/k/build/io_uring/nop.gcda", b"\0\x01"),
        ],
        2,
    );
    assert_eq!(save_gcov(&text, &out), Ok(2));
    assert_eq!(
        std::fs::read(out.join("k/build/io_uring/rsrc.gcda")).unwrap(),
        b"rsrc"
    );
    assert_eq!(
        std::fs::read(out.join("k/build/io_uring/nop.gcda")).unwrap(),
        b"\0\x01"
    );
    // A channel cut before the done marker: an error, and the earlier boot's files are kept
    // (nothing is removed before the whole transfer is read).
    let cut = &text[..text.find("@@URING-GCOV-DONE").unwrap()];
    assert!(save_gcov(cut, &out).is_err());
    assert!(out.join("k/build/io_uring/rsrc.gcda").exists());
    // A new transfer replaces the old files.
    assert_eq!(
        save_gcov(&channel(&[("/k/build/io_uring/kbuf.gcda", b"k")], 1), &out),
        Ok(1)
    );
    assert!(!out.join("k/build/io_uring/rsrc.gcda").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
