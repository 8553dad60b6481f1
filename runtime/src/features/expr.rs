//! The feature expression tree.

use std::fmt::Write;

/// A parameter bound in an operation application, kept as SQL and as display text so the
/// expression stays hashable and orderable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamLiteral {
    /// The parameter's name in the template.
    pub name: String,
    /// The value as a SQL literal.
    pub sql: String,
}

/// A feature: a dataset column, or an operation applied to features.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureExpr {
    /// A column of the dataset.
    Column(String),
    /// An operation applied to child features with bound parameters.
    Apply {
        /// The operation's name.
        op: String,
        /// One feature per input, in the operation's input order.
        args: Vec<FeatureExpr>,
        /// One value per parameter, in the operation's parameter order.
        params: Vec<ParamLiteral>,
    },
}

impl FeatureExpr {
    /// A readable, stable name: `price`, `log(price)`, `ratio(area, rooms)`, `lag(sales, n=7)`.
    ///
    /// ```
    /// use flow_runtime::features::FeatureExpr;
    /// let f = FeatureExpr::Apply {
    ///     op: "ratio".into(),
    ///     args: vec![FeatureExpr::Column("area".into()), FeatureExpr::Column("rooms".into())],
    ///     params: vec![],
    /// };
    /// assert_eq!(f.name(), "ratio(area, rooms)");
    /// ```
    pub fn name(&self) -> String {
        let mut out = String::new();
        self.write_name(&mut out);
        out
    }

    fn write_name(&self, out: &mut String) {
        match self {
            Self::Column(c) => out.push_str(c),
            Self::Apply { op, args, params } => {
                out.push_str(op);
                out.push('(');
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    arg.write_name(out);
                }
                for p in params {
                    let _ = write!(out, ", {}={}", p.name, p.sql);
                }
                out.push(')');
            }
        }
    }

    /// How many operations are nested: 0 for a column.
    pub fn depth(&self) -> u32 {
        match self {
            Self::Column(_) => 0,
            Self::Apply { args, .. } => 1 + args.iter().map(Self::depth).max().unwrap_or(0),
        }
    }

    /// Whether `other` is this feature or one of its inputs, at any depth.
    pub fn uses(&self, other: &FeatureExpr) -> bool {
        self == other
            || match self {
                Self::Column(_) => false,
                Self::Apply { args, .. } => args.iter().any(|a| a.uses(other)),
            }
    }

    /// The features the top operation is applied to (none for a column).
    pub fn inputs(&self) -> &[FeatureExpr] {
        match self {
            Self::Column(_) => &[],
            Self::Apply { args, .. } => args,
        }
    }

    /// The operation applied at the top, if any.
    pub fn op(&self) -> Option<&str> {
        match self {
            Self::Column(_) => None,
            Self::Apply { op, .. } => Some(op),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> FeatureExpr {
        FeatureExpr::Column(name.to_owned())
    }

    #[test]
    fn names_show_the_composition_and_parameters() {
        let log = FeatureExpr::Apply {
            op: "log".into(),
            args: vec![col("price")],
            params: vec![],
        };
        let lag = FeatureExpr::Apply {
            op: "lag".into(),
            args: vec![log.clone()],
            params: vec![ParamLiteral {
                name: "n".into(),
                sql: "7".into(),
            }],
        };
        assert_eq!(log.name(), "log(price)");
        assert_eq!(lag.name(), "lag(log(price), n=7)");
        assert_eq!(lag.depth(), 2);
        assert_eq!(col("a b").depth(), 0);
    }
}
