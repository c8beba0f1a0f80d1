//! `list`, `describe`, `template` and `use`: the schema, as the `list` and
//! `describe` subcommands show it, and the service that bare method names
//! belong to.

use anyhow::{Result, anyhow};

use super::{Session, first_word, say};
use crate::describe::Renderer;
use crate::schema::{Symbol, Unresolved};
use crate::template;

/// `list [SERVICE]`: the services, or the methods of one.
pub async fn list(session: &mut Session, rest: &str) -> Result<()> {
    let (service, _) = first_word(rest);
    let mut schema = session.schema.lock().await;
    let lines = match service {
        "" => schema.service_names().await?,
        name => schema
            .service(name)
            .await?
            .methods()
            .map(|m| m.full_name().to_string())
            .collect(),
    };
    say(&lines.join("\n"))
}

/// `describe [SYMBOL]`: as proto source. A bare name is looked for in the
/// service in use, then in its package, first.
pub async fn describe(session: &mut Session, rest: &str) -> Result<()> {
    let (name, _) = first_word(rest);
    let in_use = session.service.clone();
    let mut schema = session.schema.lock().await;
    let symbols = match (name, &in_use) {
        ("", Some(service)) => vec![schema.symbol(service).await?],
        ("", None) => {
            let (services, missing) = schema.services_resolving().await?;
            Unresolved::warn(&missing);
            services.into_iter().map(Symbol::Service).collect()
        }
        // A bare name: a method of the service in use, or a type of its
        // package, before a name of its own.
        (name, Some(service)) if !name.contains('.') => {
            let mut found = None;
            let package = service.rsplit_once('.').map(|(package, _)| package);
            let scopes = [Some(service.as_str()), package];
            for scope in scopes.into_iter().flatten() {
                if let Ok(symbol) = schema.symbol(&format!("{scope}.{name}")).await {
                    found = Some(symbol);
                    break;
                }
            }
            match found {
                Some(symbol) => vec![symbol],
                None => vec![schema.symbol(name).await?],
            }
        }
        (name, _) => vec![schema.symbol(name).await?],
    };
    let mut renderer = Renderer::default();
    let text: Vec<String> = symbols
        .iter()
        .map(|symbol| renderer.render(symbol).trim_end().to_string())
        .collect();
    say(&text.join("\n\n"))
}

/// `template METHOD`: a JSON request with every field present. A message
/// name works too.
pub async fn template(session: &mut Session, rest: &str) -> Result<()> {
    let (name, _) = first_word(rest);
    if name.is_empty() {
        return Err(anyhow!("template needs a method: template METHOD"));
    }
    let message = match session.method(name).await {
        Ok(method) => method.input(),
        Err(err) => match session.schema.lock().await.symbol(name).await {
            Ok(Symbol::Message(message)) => message,
            _ => return Err(err),
        },
    };
    say(&serde_json::to_string_pretty(&template::for_message(
        &message,
    ))?)
}

/// `use [PACKAGE.SERVICE]`: methods of that service may be named alone.
pub async fn use_service(session: &mut Session, rest: &str) -> Result<()> {
    let (name, _) = first_word(rest);
    session.service = match name {
        "" => None,
        name => {
            let service = session.schema.lock().await.service(name).await?;
            Some(service.full_name().to_string())
        }
    };
    Ok(())
}
