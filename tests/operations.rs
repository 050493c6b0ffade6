//! The places that list the operations outside the compiler's reach list every one of them:
//! the README's endpoint table and the emulator fuzz target's seeds. (The tests, the fuzz
//! targets and the benchmark walk `Operation::ALL` through `emulator::samples`.)

use line_channel_token::Operation;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_readme_table_has_a_row_for_every_operation() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    for op in Operation::ALL {
        let route = format!(
            "| `{} {}` | `{}",
            op.method(),
            op.path(),
            op.line_operation_id()
        );
        assert!(readme.contains(&route), "README.md has no row {route}");
    }
}

#[test]
fn the_emulator_fuzz_target_has_a_seed_for_every_operation() {
    let dir = format!("{ROOT}/fuzz/corpus/emulator_handler");
    let mut named = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let seed = std::fs::read(entry.unwrap().path()).unwrap();
        if let Some(end) = seed.iter().position(|&b| b == b'\n') {
            named.push(String::from_utf8_lossy(&seed[..end]).into_owned());
        }
    }
    for op in Operation::ALL {
        assert!(
            named.iter().any(|n| n == op.line_operation_id()),
            "no seed in {dir} starts with {}\\n",
            op.line_operation_id()
        );
    }
}
