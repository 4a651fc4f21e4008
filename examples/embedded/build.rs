//! Rebuilds the application when a migration file is added or removed;
//! `rev::embed!` already rebuilds it when one is edited.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
