"""The rule language: parse rule YAML files, check them against the settings, explain them."""
