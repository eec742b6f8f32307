//! `GET /api/v1/docs`: the REST API's reference page, rendered on the server from the same generated OpenAPI
//! document `/api/v1/openapi.json` serves (no scripts: the page CSP allows none).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use serde_json::Value;

use super::openapi::DOCUMENT;
use crate::http::pages::{PageError, page, render};

/// The methods a path item may hold, in the order the page lists them.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[derive(Template)]
#[template(path = "api_reference.html")]
struct ReferencePage {
    title: String,
    version: String,
    description: String,
    operation_count: usize,
    tags: Vec<TagView>,
    schemas: Vec<SchemaView>,
}

/// The operations of one tag.
struct TagView {
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

struct OperationView {
    method: String,
    path: String,
    summary: String,
    description: String,
    security: String,
    parameters: Vec<ParameterView>,
    request: Option<String>,
    responses: Vec<ResponseView>,
}

struct ParameterView {
    name: String,
    location: String,
    required: bool,
    kind: String,
    description: String,
}

struct ResponseView {
    status: String,
    description: String,
    body: String,
}

struct SchemaView {
    name: String,
    description: String,
    fields: Vec<ParameterView>,
}

/// `GET /api/v1/docs`: the operations grouped by tag, then the schemas of their bodies.
pub async fn get_reference() -> Result<HttpResponse, PageError> {
    let document = serde_json::to_value(&*DOCUMENT).map_err(PageError::internal)?;
    render(page(StatusCode::OK), &reference_page(&document))
}

fn reference_page(document: &Value) -> ReferencePage {
    let info = &document["info"];
    let mut tags: Vec<TagView> = array(&document["tags"])
        .iter()
        .map(|tag| TagView {
            name: text(&tag["name"]),
            description: text(&tag["description"]),
            operations: Vec::new(),
        })
        .collect();
    let mut operation_count = 0;
    for (path, item) in entries(&document["paths"]) {
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            let tag = text(&operation["tags"][0]);
            let index = match tags.iter().position(|t| t.name == tag) {
                Some(index) => index,
                None => {
                    tags.push(TagView {
                        name: tag,
                        description: String::new(),
                        operations: Vec::new(),
                    });
                    tags.len() - 1
                }
            };
            tags[index]
                .operations
                .push(operation_view(document, method, path, operation));
            operation_count += 1;
        }
    }
    tags.retain(|tag| !tag.operations.is_empty());
    ReferencePage {
        title: text(&info["title"]),
        version: text(&info["version"]),
        description: text(&info["description"]),
        operation_count,
        tags,
        schemas: schema_views(&document["components"]["schemas"]),
    }
}

fn operation_view(document: &Value, method: &str, path: &str, operation: &Value) -> OperationView {
    let security = operation.get("security").unwrap_or(&document["security"]);
    OperationView {
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: text(&operation["summary"]),
        description: text(&operation["description"]),
        security: describe_security(security),
        parameters: array(&operation["parameters"])
            .iter()
            .map(|parameter| ParameterView {
                name: text(&parameter["name"]),
                location: text(&parameter["in"]),
                required: parameter["required"].as_bool().unwrap_or(false),
                kind: type_name(&parameter["schema"]),
                description: text(&parameter["description"]),
            })
            .collect(),
        request: operation.get("requestBody").map(describe_content),
        responses: entries(&operation["responses"])
            .map(|(status, response)| {
                let response = resolve(document, response);
                ResponseView {
                    status: status.clone(),
                    description: text(&response["description"]),
                    body: describe_content(response),
                }
            })
            .collect(),
    }
}

fn schema_views(schemas: &Value) -> Vec<SchemaView> {
    entries(schemas)
        .map(|(name, schema)| {
            let required: Vec<&str> = array(&schema["required"]).iter().filter_map(Value::as_str).collect();
            SchemaView {
                name: name.clone(),
                description: text(&schema["description"]),
                fields: entries(&schema["properties"])
                    .map(|(field, property)| ParameterView {
                        name: field.clone(),
                        location: String::new(),
                        required: required.contains(&field.as_str()),
                        kind: type_name(property),
                        description: text(&property["description"]),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// "api_key + bearer", alternatives joined by "or"; "none" for an empty requirement.
fn describe_security(security: &Value) -> String {
    let alternatives: Vec<String> = array(security)
        .iter()
        .map(|requirement| {
            let names: Vec<&str> = entries(requirement).map(|(name, _)| name.as_str()).collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(" + ")
            }
        })
        .collect();
    alternatives.join(" or ")
}

/// A body's media types and schemas, such as `application/json: TokenPairBody`.
fn describe_content(holder: &Value) -> String {
    entries(&holder["content"])
        .map(|(media_type, content)| format!("{media_type}: {}", type_name(&content["schema"])))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A schema in a few characters: its component's name, `T[]`, `T?`, `A | B`.
fn type_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    for (key, separator) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")] {
        if let Some(parts) = schema[key].as_array() {
            let names: Vec<String> = parts.iter().map(type_name).filter(|n| n != "null").collect();
            return names.join(separator);
        }
    }
    match &schema["type"] {
        Value::String(kind) if kind == "array" => format!("{}[]", type_name(&schema["items"])),
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => {
            let nullable = kinds.iter().any(|k| k == "null");
            let names: Vec<String> = kinds
                .iter()
                .filter(|k| *k != "null")
                .map(|k| match k.as_str() {
                    Some("array") => format!("{}[]", type_name(&schema["items"])),
                    other => other.unwrap_or("any").to_owned(),
                })
                .collect();
            format!("{}{}", names.join(" | "), if nullable { "?" } else { "" })
        }
        _ => "any".to_owned(),
    }
}

/// A `$ref` to a component followed once; anything else as it is.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    let Some(reference) = value["$ref"].as_str() else {
        return value;
    };
    let pointer = reference.trim_start_matches('#');
    document.pointer(pointer).unwrap_or(value)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn array(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The members of a JSON object; none for anything else.
fn entries(value: &Value) -> impl Iterator<Item = (&String, &Value)> {
    value.as_object().into_iter().flatten()
}
