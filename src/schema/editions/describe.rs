//! What `describe` adds for a file lowered from Protobuf Editions: the
//! edition, and every feature set where it differs from what the element
//! inherits (the file's own, from the edition's defaults), written where
//! the source sets it.

use std::fmt::Write as _;

use prost_reflect::FileDescriptor;

use crate::schema::editions;

/// One level of indentation, as `describe` writes it.
const INDENT: &str = "  ";

/// `// edition = "2023";` and the file's own features, under the header.
pub fn file_header(out: &mut String, file: &str) {
    let Some(edition) = editions::edition_of(file) else {
        return;
    };
    let _ = writeln!(out, "// edition = \"{edition}\";");
    for feature in editions::shown(file, &[]) {
        let _ = writeln!(out, "// option {feature};");
    }
}

/// `option features.x = Y;` lines for a message or an enum.
pub fn options(out: &mut String, file: &FileDescriptor, path: &[i32], depth: usize) {
    for feature in editions::shown(file.name(), path) {
        let _ = writeln!(out, "{}option {feature};", INDENT.repeat(depth));
    }
}
