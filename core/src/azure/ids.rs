//! ARM resource ids: `/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}...]`,
//! optionally followed by `/providers/{ns}/{type}/{name}` for extension resources (role assignments).
//!
//! ARM treats ids case-insensitively and answers with whatever case it stored, so ids compare
//! ignoring ASCII case and keep the case they were given in.

use std::fmt;

use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct ResourceId {
    text: String,
    subscription: String,
    resource_group: Option<String>,
    /// `(namespace, [(type, name)...])` for each `providers/` segment; the last one is the resource.
    providers: Vec<(String, Vec<(String, String)>)>,
}

impl ResourceId {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::UnexpectedResponse {
            url: text.to_owned(),
            reason: format!("not an ARM resource id: {why}"),
        };
        let trimmed = text.trim().trim_end_matches('/');
        if !trimmed.starts_with('/') {
            return Err(bad("it must start with /subscriptions/"));
        }
        let segs: Vec<&str> = trimmed[1..].split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return Err(bad("empty segment"));
        }
        let mut i = 0;
        let mut next = |n: usize| -> Option<&[&str]> {
            let s = segs.get(i..i + n)?;
            i += n;
            Some(s)
        };
        let sub = match next(2) {
            Some([k, v]) if k.eq_ignore_ascii_case("subscriptions") => (*v).to_owned(),
            _ => return Err(bad("it must start with /subscriptions/{id}")),
        };
        let mut id = ResourceId {
            text: trimmed.to_owned(),
            subscription: sub,
            resource_group: None,
            providers: Vec::new(),
        };
        let rest = &segs[2..];
        let mut j = 0;
        if rest.len() >= 2 && rest[0].eq_ignore_ascii_case("resourceGroups") {
            id.resource_group = Some(rest[1].to_owned());
            j = 2;
        }
        while j < rest.len() {
            if !rest[j].eq_ignore_ascii_case("providers") || j + 1 >= rest.len() {
                return Err(bad("expected providers/{namespace}"));
            }
            let ns = rest[j + 1].to_owned();
            j += 2;
            let mut types = Vec::new();
            while j < rest.len() && !rest[j].eq_ignore_ascii_case("providers") {
                match rest.get(j + 1) {
                    Some(name) => types.push((rest[j].to_owned(), (*name).to_owned())),
                    // A trailing type without a name is a collection, not a resource.
                    None => return Err(bad("a resource type without a name")),
                }
                j += 2;
            }
            id.providers.push((ns, types));
        }
        Ok(id)
    }

    pub fn subscription(sub: &str) -> Self {
        Self::from_parts(format!("/subscriptions/{sub}"), sub, None, Vec::new())
    }

    pub fn resource_group(sub: &str, rg: &str) -> Self {
        Self::from_parts(
            format!("/subscriptions/{sub}/resourceGroups/{rg}"),
            sub,
            Some(rg),
            Vec::new(),
        )
    }

    /// A top-level resource, e.g. `("Microsoft.StorageCache", "caches", "cache1")`.
    pub fn resource(sub: &str, rg: &str, namespace: &str, rtype: &str, name: &str) -> Self {
        Self::resource_group(sub, rg).provider(namespace, rtype, name)
    }

    /// A resource (or extension resource) under this scope through `providers/{namespace}`.
    pub fn provider(&self, namespace: &str, rtype: &str, name: &str) -> Self {
        let mut id = self.clone();
        id.text = format!("{}/providers/{namespace}/{rtype}/{name}", self.text);
        id.providers.push((
            namespace.to_owned(),
            vec![(rtype.to_owned(), name.to_owned())],
        ));
        id
    }

    /// A child resource: `{self}/{type}/{name}`.
    pub fn child(&self, rtype: &str, name: &str) -> Self {
        let mut id = self.clone();
        id.text = format!("{}/{rtype}/{name}", self.text);
        // Below a subscription or group there is no provider to hang a child on; the text is
        // kept (ARM will judge it) without pretending to know its type.
        if let Some((_, types)) = id.providers.last_mut() {
            types.push((rtype.to_owned(), name.to_owned()));
        }
        id
    }

    fn from_parts(
        text: String,
        sub: &str,
        rg: Option<&str>,
        providers: Vec<(String, Vec<(String, String)>)>,
    ) -> Self {
        Self {
            text,
            subscription: sub.to_owned(),
            resource_group: rg.map(str::to_owned),
            providers,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn subscription_id(&self) -> &str {
        &self.subscription
    }

    pub fn resource_group_name(&self) -> Option<&str> {
        self.resource_group.as_deref()
    }

    /// The namespace of the resource itself (the last `providers/` segment).
    pub fn namespace(&self) -> Option<&str> {
        self.providers.last().map(|(ns, _)| ns.as_str())
    }

    /// `Microsoft.Network/virtualNetworks/subnets` for a subnet id.
    pub fn resource_type(&self) -> Option<String> {
        let (ns, types) = self.providers.last()?;
        let mut t = ns.clone();
        for (ty, _) in types {
            t.push('/');
            t.push_str(ty);
        }
        Some(t)
    }

    /// The resource's own name (last segment); the group or subscription name for those scopes.
    pub fn name(&self) -> &str {
        self.text.rsplit('/').next().unwrap_or_default()
    }

    /// The enclosing resource of a child (`.../virtualNetworks/v` for a subnet).
    pub fn parent(&self) -> Option<Self> {
        let (_, types) = self.providers.last()?;
        if types.len() < 2 {
            return None;
        }
        let (ty, name) = types.last()?;
        let cut = self.text.len() - ty.len() - name.len() - 2;
        Self::parse(&self.text[..cut]).ok()
    }

    /// Is `resource_type` (case-insensitive) the type of this id?
    pub fn is_type(&self, resource_type: &str) -> bool {
        self.resource_type()
            .is_some_and(|t| t.eq_ignore_ascii_case(resource_type))
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.text.eq_ignore_ascii_case(&other.text)
    }
}

impl Eq for ResourceId {}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Compares two id strings as ARM does.
pub fn same_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_child_and_extension_resources() {
        let s = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/v/subnets/cache";
        let id = ResourceId::parse(s).unwrap();
        assert_eq!(id.subscription_id(), "S");
        assert_eq!(id.resource_group_name(), Some("RG"));
        assert_eq!(
            id.resource_type().as_deref(),
            Some("Microsoft.Network/virtualNetworks/subnets")
        );
        assert_eq!(id.name(), "cache");
        assert_eq!(
            id.parent().unwrap().as_str(),
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/v"
        );
        let ra = ResourceId::parse(&format!(
            "{s}/providers/Microsoft.Authorization/roleAssignments/x"
        ))
        .unwrap();
        assert!(ra.is_type("microsoft.authorization/roleassignments"));
        assert_eq!(ResourceId::parse(&s.to_lowercase()).unwrap(), id);
        assert!(
            ResourceId::parse(
                "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks"
            )
            .is_err()
        );
        assert!(ResourceId::parse("subscriptions/S").is_err());
    }

    #[test]
    fn builds_what_it_parses() {
        let id = ResourceId::resource("S", "RG", "Microsoft.StorageCache", "caches", "c")
            .child("storageTargets", "t");
        assert_eq!(
            id.as_str(),
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.StorageCache/caches/c/storageTargets/t"
        );
        assert_eq!(
            ResourceId::parse(id.as_str()).unwrap().resource_type(),
            id.resource_type()
        );
    }
}
