//! The `plugin-warden` command-line tool for marketplace reviewers and plugin authors.
//!
//! Not implemented yet (issue 7): it says so and exits with status 2.

fn main() {
    eprintln!("plugin-warden: the command-line tool is not implemented yet (NOT_IMPLEMENTED)");
    std::process::exit(2);
}
