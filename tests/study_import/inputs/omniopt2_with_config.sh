./omniopt --config_toml omniopt2_config.toml --max_eval 99 --partition barnard
