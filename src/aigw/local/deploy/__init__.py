"""Deploying a template: SAM transform and intrinsics (`template`), resources created in moto
in dependency order (`deployer`)."""
