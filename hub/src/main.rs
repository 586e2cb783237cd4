//! `spec-kitty-hub`: the sync server that speaks the wire contract. Not built yet: the sync issue fills it.

fn main() {
    eprintln!("spec-kitty-hub: not built yet; the sync issue fills this server");
    std::process::exit(2);
}
