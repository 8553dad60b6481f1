//! Module files: KDL files of `op` definitions (and `use` imports) that pipelines import.

use crate::diagnostic::{Diagnostics, ErrorKind, did_you_mean_help};
use crate::operation::{OperationSpec, lower_operation};
use crate::reader::Reader;
use crate::source::{SourceId, Sources};
use crate::space::{ImportSpec, lower_use};
use crate::tree::parse_kdl;

/// A module: the operations it defines and the modules it imports.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleSpec {
    /// Other modules this one imports (their operations become part of it).
    pub imports: Vec<ImportSpec>,
    /// The operations it defines.
    pub ops: Vec<OperationSpec>,
}

/// Parses and validates a module file.
pub fn parse_module(sources: &Sources, file: SourceId) -> Result<ModuleSpec, Diagnostics> {
    let doc = parse_kdl(sources, file)?;
    let mut r = Reader::new(sources);
    let mut imports = Vec::new();
    let mut ops = Vec::new();
    for node in &doc {
        match node.name.text.as_str() {
            "op" => ops.extend(lower_operation(&mut r, node)),
            "use" => imports.extend(lower_use(&mut r, node)),
            other => r.error(
                ErrorKind::UnknownNode,
                node.name.loc,
                format!("unknown node `{other}` in a module file"),
                "not expected here",
                did_you_mean_help(other, &["op", "use"], "a module file holds"),
            ),
        }
    }
    r.finish(ModuleSpec { imports, ops })
}
