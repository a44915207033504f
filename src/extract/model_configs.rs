//! Which `.pbtxt` files of a scan are model configurations Triton would load, as opposed to
//! samples and templates that only look like one. Every `.pbtxt` is parsed and checked for
//! syntax and schema (TG501); only model configurations become `pbtxt` subjects, so rules
//! about a model's name and directory (TG505–TG508, TG511) never judge a template.

use std::collections::BTreeSet;

use crate::load::classify::{ModelConfigRole, model_config_role};
use crate::model::launch::Launch;

/// The custom configuration names the launches of a scan select with
/// `--model-config-name`, or `None` when the scan has no tritonserver launch at all (a model
/// repository checked on its own: it cannot tell which name its deployment selects, so
/// every `configs/<name>.pbtxt` counts).
pub fn selected_config_names<'a>(
    launches: impl IntoIterator<Item = &'a Launch>,
) -> Option<BTreeSet<String>> {
    let mut any = false;
    let mut names = BTreeSet::new();
    for launch in launches {
        if !launch.server.invoked {
            continue;
        }
        any = true;
        for value in launch
            .server
            .flags
            .get("model-config-name")
            .into_iter()
            .flatten()
        {
            names.extend(value.value.clone());
        }
    }
    any.then_some(names)
}

/// True when Triton reads the `.pbtxt` at `path` (a `/`-separated display path) as a model
/// configuration: `<model>/config.pbtxt`, or `<model>/configs/<name>.pbtxt` with `<name>`
/// selected (see [`selected_config_names`]).
pub fn is_model_configuration(path: &str, selected: Option<&BTreeSet<String>>) -> bool {
    match model_config_role(path) {
        ModelConfigRole::Default => true,
        ModelConfigRole::Custom(name) => selected.is_none_or(|names| names.contains(&name)),
        ModelConfigRole::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::launch::Fact;

    fn launch(config_name: Option<&str>) -> Launch {
        let mut launch = Launch::default();
        launch.server.invoked = true;
        if let Some(name) = config_name {
            launch.server.flags.insert(
                "model-config-name".to_string(),
                vec![Fact::known(name.to_string(), None)],
            );
        }
        launch
    }

    #[test]
    fn a_custom_configuration_counts_when_selected_or_when_no_launch_can_tell() {
        let h100 = "models/resnet/configs/h100.pbtxt";
        assert!(is_model_configuration(h100, None));
        let none = selected_config_names(&[launch(None)]);
        assert!(!is_model_configuration(h100, none.as_ref()));
        let picked = selected_config_names(&[launch(None), launch(Some("h100"))]);
        assert!(is_model_configuration(h100, picked.as_ref()));
        assert!(is_model_configuration(
            "models/resnet/config.pbtxt",
            none.as_ref()
        ));
        assert!(!is_model_configuration(
            "models/resnet/config_sample.pbtxt",
            None
        ));
    }

    #[test]
    fn launches_that_do_not_run_the_server_select_nothing() {
        let mut image_only = launch(Some("h100"));
        image_only.server.invoked = false;
        assert_eq!(selected_config_names(&[image_only]), None);
    }
}
