//! protox's compiler (grpcx's diagnostic path for .proto files) with
//! editions files lowered as they are opened: protox hands every file to
//! prost-reflect, which knows no editions.

use protox::Error;
use protox::file::{File, FileResolver};

/// A resolver that lowers the editions files `inner` opens.
pub struct Resolver<R>(pub R);

impl<R: FileResolver> FileResolver for Resolver<R> {
    fn resolve_path(&self, path: &std::path::Path) -> Option<String> {
        self.0.resolve_path(path)
    }

    fn open_file(&self, name: &str) -> Result<File, Error> {
        let file = self.0.open_file(name)?;
        let editions = file.file_descriptor_proto().syntax() == "editions";
        let Some(source) = file.source().filter(|_| editions) else {
            return Ok(file);
        };
        // Parsed once more, for the edition protox does not keep.
        let lowered = protox_parse::parse_with_edition(name, source)
            .map_err(anyhow::Error::from)
            .and_then(|(parsed, edition)| super::lower_parsed(parsed, edition.unwrap_or_default()))
            .map_err(|err| Error::new(std::io::Error::other(err.to_string())))?;
        Ok(File::from_file_descriptor_proto(lowered))
    }
}
