//! `scripts/bootstrap --check` finds libclang the way bindgen (clang-sys) loads it: a fresh
//! Debian machine has `libclang-cpp.so.14` (the C++ library) without `libclang.so`, and must
//! still be told that libclang is missing.

use std::path::Path;
use std::process::Command;

fn check_with_libraries(files: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::write(dir.path().join(f), b"").unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bootstrap");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--check")
        .env("LAGOA_LIBCLANG_DIRS", dir.path())
        .env_remove("LIBCLANG_PATH")
        .output()
        .expect("running scripts/bootstrap --check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn libclang_cpp_alone_is_not_libclang() {
    let (ok, text) = check_with_libraries(&["libclang-cpp.so.14", "libclangBasic.a"]);
    assert!(!ok, "{text}");
    assert!(text.contains("missing libclang-dev"), "{text}");
}

#[test]
fn the_names_bindgen_loads_are_found() {
    for name in [
        "libclang.so",
        "libclang.so.1",
        "libclang-14.so",
        "libclang-14.0.6.so",
        "libclang-16.so.1",
    ] {
        let (ok, text) = check_with_libraries(&["libclang-cpp.so.14", name]);
        // g++ is required too; bootstrap installs it with libclang, so CI has it by now.
        assert!(ok, "{name}: {text}");
        assert!(text.contains(name), "{name}: {text}");
    }
}
