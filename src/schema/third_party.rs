//! Third-party imports that most public APIs use (`google/api`, `google/rpc`,
//! `google/type`), bundled so that users need not hunt for them. They come
//! from the googleapis-common-protos package; see third_party/googleapis/.
//!
//! The resolver sits after the user's import roots, so a user's own copy of
//! one of these files wins.

use protox::Error;
use protox::file::{File, FileResolver};

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../third_party/googleapis/", $name)))),*]
    };
}

/// Every bundled file: its import name and its source.
pub const FILES: &[(&str, &str)] = bundled![
    "google/api/annotations.proto",
    "google/api/client.proto",
    "google/api/field_behavior.proto",
    "google/api/http.proto",
    "google/api/httpbody.proto",
    "google/api/launch_stage.proto",
    "google/api/resource.proto",
    "google/rpc/code.proto",
    "google/rpc/error_details.proto",
    "google/rpc/status.proto",
    "google/type/calendar_period.proto",
    "google/type/color.proto",
    "google/type/date.proto",
    "google/type/datetime.proto",
    "google/type/dayofweek.proto",
    "google/type/decimal.proto",
    "google/type/expr.proto",
    "google/type/fraction.proto",
    "google/type/interval.proto",
    "google/type/latlng.proto",
    "google/type/localized_text.proto",
    "google/type/money.proto",
    "google/type/month.proto",
    "google/type/phone_number.proto",
    "google/type/postal_address.proto",
    "google/type/quaternion.proto",
    "google/type/timeofday.proto",
];

/// The directories the bundled files live in, for error messages.
pub const DIRS: &str = "google/api, google/rpc, google/type";

/// Opens bundled files by import name; parsed only when imported.
#[derive(Debug, Default)]
pub struct ThirdPartyResolver;

impl FileResolver for ThirdPartyResolver {
    fn open_file(&self, name: &str) -> Result<File, Error> {
        match FILES.iter().find(|(file, _)| *file == name) {
            Some((name, source)) => File::from_source(name, source),
            None => Err(Error::file_not_found(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled file compiles with its imports.
    #[test]
    fn bundled_files_compile() {
        let mut resolver = protox::file::ChainFileResolver::new();
        resolver.add(protox::file::GoogleFileResolver::new());
        resolver.add(ThirdPartyResolver);
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        for (name, _) in FILES {
            compiler.open_file(name).unwrap();
        }
        let pool = compiler.descriptor_pool();
        assert!(pool.get_message_by_name("google.rpc.Status").is_some());
        assert!(pool.get_message_by_name("google.api.HttpRule").is_some());
        assert!(pool.get_message_by_name("google.type.Money").is_some());
    }
}
