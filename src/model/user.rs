//! The effective user of the Triton container, the same fact from every format: what the
//! files set (Kubernetes `runAsUser`, a Dockerfile `USER`, `docker run --user`, a compose
//! `user:`), or the image's default, and whether the kubelet refuses to start it as root
//! (`runAsNonRoot: true`). Policies decide from it (TG201 runs-as-root); the deprecated
//! verdict `launch.container.runs_as_root` is derived from it here, with the same rule.

use crate::model::launch::{At, EffectiveUser, Fact};
use crate::source::Span;

/// Where the user comes from, as `source` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSource {
    /// Kubernetes `securityContext.runAsUser` (container's, else the pod's).
    RunAsUser,
    /// A Dockerfile `USER` instruction of the image.
    DockerfileUser,
    /// `docker run --user` / `-u`.
    RunFlag,
    /// A compose service's `user:`.
    ComposeUser,
}

impl UserSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSource::RunAsUser => "runAsUser",
            UserSource::DockerfileUser => "USER",
            UserSource::RunFlag => "--user",
            UserSource::ComposeUser => "compose user",
        }
    }
}

/// A user setting as written: `1000`, `1000:1000`, `root`, `triton-server`; `None` for a
/// value the files do not determine (an unresolved variable, a templated number).
pub struct UserSetting {
    pub text: Option<String>,
    pub source: UserSource,
    pub span: Option<Span>,
}

/// The effective user. `written` is the setting that wins (the caller applies the format's
/// precedence: container over pod, `--user` over `USER`); without one the image's default
/// user applies, and `fallback` is where a setting would go.
pub fn effective_user(
    written: Option<UserSetting>,
    run_as_non_root: Option<bool>,
    image_default_root: Option<bool>,
    fallback: Option<Span>,
) -> At<EffectiveUser> {
    let kubelet_refuses_root = run_as_non_root == Some(true);
    match written {
        Some(setting) => {
            let (uid, name) = match setting.text.as_deref() {
                Some(text) => parse_user(text),
                None => (None, None),
            };
            At {
                value: EffectiveUser {
                    uid,
                    name,
                    written: setting.text,
                    source: setting.source.as_str().to_string(),
                    kubelet_refuses_root,
                    image_default_root,
                },
                span: setting.span.or(fallback),
            }
        }
        None => At {
            value: EffectiveUser {
                uid: None,
                name: None,
                written: None,
                source: "image default".to_string(),
                kubelet_refuses_root,
                image_default_root,
            },
            span: fallback,
        },
    }
}

/// `uid[:gid]` or `name[:group]` → (uid, name). `root` is uid 0 in every image.
fn parse_user(text: &str) -> (Option<i64>, Option<String>) {
    let user = text.split(':').next().unwrap_or(text).trim();
    if user.is_empty() {
        return (None, None);
    }
    match user.parse::<i64>() {
        Ok(uid) => (Some(uid), None),
        Err(_) if user == "root" => (Some(0), Some(user.to_string())),
        Err(_) => (None, Some(user.to_string())),
    }
}

impl EffectiveUser {
    /// The verdict TG201's policy computes in CEL, for the deprecated `runs_as_root` field:
    /// true (root), false (not root, or the kubelet refuses root), null (unknown).
    pub fn runs_as_root(&self) -> Option<bool> {
        if self.kubelet_refuses_root {
            return Some(false);
        }
        match (self.uid, &self.name) {
            (Some(uid), _) => Some(uid == 0),
            (None, Some(_)) => Some(false),
            (None, None) if self.source == "image default" => self.image_default_root,
            (None, None) => None,
        }
    }

    /// [`Self::runs_as_root`] as a fact at the user's span.
    pub fn runs_as_root_fact(user: &At<EffectiveUser>) -> Fact<bool> {
        Fact {
            value: user.value.runs_as_root(),
            span: user.span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(
        text: Option<&str>,
        non_root: Option<bool>,
        default_root: Option<bool>,
    ) -> EffectiveUser {
        let written = text.map(|t| UserSetting {
            text: (t != "?").then(|| t.to_string()),
            source: UserSource::RunFlag,
            span: None,
        });
        effective_user(written, non_root, default_root, None).value
    }

    #[test]
    fn uid_name_and_verdict_from_every_kind_of_setting() {
        let u = user(Some("0:0"), None, None);
        assert_eq!((u.uid, u.runs_as_root()), (Some(0), Some(true)));
        let u = user(Some("root"), None, Some(false));
        assert_eq!((u.uid, u.name.as_deref()), (Some(0), Some("root")));
        assert_eq!(u.runs_as_root(), Some(true));
        let u = user(Some("triton-server"), None, Some(true));
        assert_eq!((u.uid, u.runs_as_root()), (None, Some(false)));
        assert_eq!(user(Some("1000:1000"), None, None).uid, Some(1000));
        // Written but not determined: unknown, whatever the image's default.
        assert_eq!(user(Some("?"), None, Some(true)).runs_as_root(), None);
        // Nothing written: the image's default user.
        let u = user(None, None, Some(true));
        assert_eq!(
            (u.source.as_str(), u.runs_as_root()),
            ("image default", Some(true))
        );
        assert_eq!(user(None, None, None).runs_as_root(), None);
        // runAsNonRoot: the kubelet refuses to start a root user.
        assert_eq!(
            user(Some("0"), Some(true), None).runs_as_root(),
            Some(false)
        );
        assert_eq!(
            user(None, Some(true), Some(true)).runs_as_root(),
            Some(false)
        );
    }
}
