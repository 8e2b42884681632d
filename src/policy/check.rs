//! A compile-time check regorus leaves to run time: every function a policy
//! calls must exist. regorus reports `could not find function` only when the
//! call is evaluated, so a misspelt name or a built-in this build does not
//! include (`regex.match`, `http.send`, ...) would otherwise be saved and fail
//! every policy run.

use std::collections::BTreeSet;

use regorus::unstable::{Expr, Literal, Module, Query, Rule, RuleHead, BUILTINS};
use regorus::utils::get_path_string;

/// `Err` with a located message for the first call of an unknown function.
pub(super) fn unknown_functions(module: &Module) -> Result<(), String> {
    let mut functions = BTreeSet::new();
    for rule in &module.policy {
        match rule.as_ref() {
            Rule::Spec {
                head: RuleHead::Func { refr, .. },
                ..
            } => {
                if let Ok(path) = get_path_string(refr, None) {
                    functions.insert(path);
                }
            }
            Rule::Default { refr, args, .. } if !args.is_empty() => {
                if let Ok(path) = get_path_string(refr, None) {
                    functions.insert(path);
                }
            }
            _ => {}
        }
    }
    let mut roots: BTreeSet<String> = module
        .imports
        .iter()
        .filter_map(|import| match &import.r#as {
            Some(alias) => Some(alias.text().to_string()),
            None => get_path_string(&import.refr, None)
                .ok()
                .and_then(|p| p.rsplit('.').next().map(str::to_string)),
        })
        .collect();
    roots.insert("data".to_string());

    let mut walk = Walk::default();
    for rule in &module.policy {
        match rule.as_ref() {
            Rule::Spec { head, bodies, .. } => {
                match head {
                    RuleHead::Compr { refr, assign, .. } => {
                        walk.exprs.push(refr);
                        if let Some(a) = assign {
                            walk.exprs.push(&a.value);
                        }
                    }
                    RuleHead::Set { refr, key, .. } => {
                        walk.exprs.push(refr);
                        walk.exprs.extend(key.iter().map(|k| &**k));
                    }
                    RuleHead::Func { args, assign, .. } => {
                        walk.exprs.extend(args.iter().map(|a| &**a));
                        if let Some(a) = assign {
                            walk.exprs.push(&a.value);
                        }
                    }
                }
                for body in bodies {
                    if let Some(a) = &body.assign {
                        walk.exprs.push(&a.value);
                    }
                    walk.queries.push(&body.query);
                }
            }
            Rule::Default { value, .. } => walk.exprs.push(value),
        }
    }

    while let Some(call) = walk.next_call() {
        let Expr::Call { fcn, .. } = call else {
            continue;
        };
        let Ok(path) = get_path_string(fcn, None) else {
            continue;
        };
        let root = path.split('.').next().unwrap_or_default();
        let known = path == "print"
            || BUILTINS.contains_key(path.as_str())
            || functions.contains(&path)
            || roots.contains(root);
        if !known {
            return Err(call
                .span()
                .message(
                    "error",
                    &format!(
                        "unknown function `{path}`: it is neither a built-in available to \
                         Tollgate policies nor a function defined in this policy"
                    ),
                )
                .trim()
                .to_string());
        }
    }
    Ok(())
}

/// A depth-first walk over expressions and queries with an explicit stack, so
/// a deeply nested policy cannot overflow the thread's stack.
#[derive(Default)]
struct Walk<'a> {
    exprs: Vec<&'a Expr>,
    queries: Vec<&'a Query>,
}

impl<'a> Walk<'a> {
    /// The next call expression, pushing the children of everything passed.
    fn next_call(&mut self) -> Option<&'a Expr> {
        loop {
            if let Some(expr) = self.exprs.pop() {
                self.push_children(expr);
                if matches!(expr, Expr::Call { .. }) {
                    return Some(expr);
                }
                continue;
            }
            let query = self.queries.pop()?;
            for stmt in &query.stmts {
                for m in &stmt.with_mods {
                    self.exprs.push(&m.refr);
                    self.exprs.push(&m.r#as);
                }
                match &stmt.literal {
                    Literal::SomeVars { .. } => {}
                    Literal::SomeIn {
                        key,
                        value,
                        collection,
                        ..
                    } => {
                        self.exprs.extend(key.iter().map(|k| &**k));
                        self.exprs.push(value);
                        self.exprs.push(collection);
                    }
                    Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => {
                        self.exprs.push(expr)
                    }
                    Literal::Every { domain, query, .. } => {
                        self.exprs.push(domain);
                        self.queries.push(query);
                    }
                }
            }
        }
    }

    fn push_children(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Array { items, .. } | Expr::Set { items, .. } => {
                self.exprs.extend(items.iter().map(|i| &**i))
            }
            Expr::Object { fields, .. } => {
                for (_, k, v) in fields {
                    self.exprs.push(k);
                    self.exprs.push(v);
                }
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                self.exprs.push(term);
                self.queries.push(query);
            }
            Expr::ObjectCompr {
                key, value, query, ..
            } => {
                self.exprs.push(key);
                self.exprs.push(value);
                self.queries.push(query);
            }
            Expr::Call { params, .. } => self.exprs.extend(params.iter().map(|p| &**p)),
            Expr::UnaryExpr { expr, .. } => self.exprs.push(expr),
            Expr::RefDot { refr, .. } => self.exprs.push(refr),
            Expr::RefBrack { refr, index, .. } => {
                self.exprs.push(refr);
                self.exprs.push(index);
            }
            Expr::BinExpr { lhs, rhs, .. }
            | Expr::BoolExpr { lhs, rhs, .. }
            | Expr::ArithExpr { lhs, rhs, .. }
            | Expr::AssignExpr { lhs, rhs, .. } => {
                self.exprs.push(lhs);
                self.exprs.push(rhs);
            }
            Expr::Membership {
                key,
                value,
                collection,
                ..
            } => {
                self.exprs.extend(key.iter().map(|k| &**k));
                self.exprs.push(value);
                self.exprs.push(collection);
            }
            // Literals and variables have no children.
            _ => {}
        }
    }
}
