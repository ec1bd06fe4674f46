"""Load a SAM template as the plain CloudFormation resources the offline deployer creates in moto.

Local paths are rewritten the way ``sam package`` would, so the SAM translator sees S3 locations,
while the directory behind each location is remembered. The SAM transform then runs offline, and
intrinsic functions are resolved later against physical names that only the deployer knows.
"""

import base64
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from samtranslator.model.exceptions import ExceptionWithMessage, InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import intrinsics_multi_constructor

CODE_BUCKET = "aigw-local-code"
#: A function's code when it names none (no ``CodeUri``, ``InlineCode`` or Globals
#: ``CodeUri``): the template's directory, as ``sam build``/``sam deploy`` package it
#: (aws-sam-cli ``SamBaseProvider.DEFAULT_CODEURI``).
DEFAULT_CODE_URI = "."
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_NO_VALUE = object()  # what Ref AWS::NoValue resolves to: the parent drops the key or item


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML as CloudFormation reads it: short-form intrinsics (``!Ref``), and no timestamp
    type, so an unquoted ``Version: 2012-10-17`` stays the string it is on AWS."""


_CloudFormationLoader.add_multi_constructor("!", intrinsics_multi_constructor)
_CloudFormationLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def parse_yaml(text: str) -> Any:
    """A template (or an included document) as CloudFormation parses it."""
    return yaml.load(text, Loader=_CloudFormationLoader)


class TemplateError(Exception):
    """The template cannot be deployed offline; the message says what to fix."""


class Lookup(Protocol):
    """Physical names and attributes of resources the deployer has already created."""

    def ref(self, logical_id: str) -> str: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...


@dataclass
class Resource:
    """One CloudFormation resource after the SAM transform; properties still hold intrinsics."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


class CfnTemplate:
    """A transformed template: its resources, their order, and how to resolve their properties."""

    def __init__(
        self,
        template: dict[str, Any],
        *,
        parameters: dict[str, Any],
        region: str,
        account_id: str,
        stack_name: str,
        base_dir: Path,
        code_paths: dict[str, Path],
    ) -> None:
        self.parameters = parameters
        self.outputs: dict[str, Any] = template.get("Outputs") or {}
        self.description: str | None = template.get("Description")
        #: The declared parameters (``NoEcho`` ones are masked where the stack is described).
        self.parameter_specs: dict[str, Any] = template.get("Parameters") or {}
        self.region, self.account_id, self.stack_name = region, account_id, stack_name
        self.base_dir = base_dir
        self._code_paths = code_paths
        self._mappings: dict[str, Any] = template.get("Mappings") or {}
        stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"{account_id}/{region}/{stack_name}")
        self._pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/"
            f"{stack_name}/{stack_uuid}",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        self.stack_id: str = self._pseudo["AWS::StackId"]
        self._intrinsics = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
            "Fn::ImportValue": self._import_value,
        }
        # Conditions only see parameters and mappings, so they are settled once, up front.
        self._condition_defs: dict[str, Any] = template.get("Conditions") or {}
        self.conditions: dict[str, bool] = {}
        for name in self._condition_defs:
            self._condition(name)
        self.resources: dict[str, Resource] = {}
        self._dropped: set[str] = set()
        for logical_id, spec in template["Resources"].items():
            if "Condition" in spec and not self._condition(spec["Condition"]):
                self._dropped.add(logical_id)
                continue
            depends_on = spec.get("DependsOn") or []
            self.resources[logical_id] = Resource(
                logical_id=logical_id,
                type=spec["Type"],
                properties=spec.get("Properties") or {},
                depends_on=[depends_on] if isinstance(depends_on, str) else list(depends_on),
                metadata=spec.get("Metadata") or {},
            )

    def local_path_for_code(self, bucket: str, key: str) -> Path:
        """The local file or directory that a rewritten Code/Content S3 location stands for."""
        if bucket != CODE_BUCKET or key not in self._code_paths:
            raise TemplateError(f"s3://{bucket}/{key} is not a local path from {self.base_dir}")
        return self._code_paths[key]

    def dependencies(self, logical_id: str) -> list[str]:
        """Resources that must exist before ``logical_id`` can be created."""
        resource = self.resources[logical_id]
        found: list[str] = []
        for name in [*resource.depends_on, *self._references(resource.properties)]:
            if name.startswith("AWS::") or name in self.parameters or name in found:
                continue
            if name not in self.resources:
                why = "its Condition is false" if name in self._dropped else "nothing has that name"
                raise TemplateError(f"{logical_id} refers to {name!r}, but {why}")
            found.append(name)
        return found

    def deploy_order(self) -> list[str]:
        """Logical ids with every resource after the ones it references or depends on."""
        order: list[str] = []
        path: list[str] = []

        def visit(logical_id: str) -> None:
            if logical_id in order:
                return
            if logical_id in path:
                cycle = [*path[path.index(logical_id) :], logical_id]
                raise TemplateError("dependency cycle: " + " -> ".join(cycle))
            path.append(logical_id)
            for dependency in self.dependencies(logical_id):
                visit(dependency)
            path.pop()
            order.append(logical_id)

        for logical_id in self.resources:
            visit(logical_id)
        return order

    def resolve(self, value: Any, lookup: Lookup) -> Any:
        """``value`` with every intrinsic function replaced by its result (None for NoValue)."""
        resolved = self._resolve(value, lookup)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any, lookup: Lookup | None) -> Any:
        if isinstance(value, list):
            items = (self._resolve(item, lookup) for item in value)
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, arg),) = value.items()
            if name in self._intrinsics:
                return self._intrinsics[name](arg, lookup)
            if name.startswith("Fn::"):
                raise TemplateError(f"{name} is not supported by the offline runtime")
        resolved = {key: self._resolve(item, lookup) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _condition(self, name: str, chain: tuple[str, ...] = ()) -> bool:
        if name in self.conditions:
            return self.conditions[name]
        if name not in self._condition_defs:
            raise TemplateError(f"unknown condition {name!r}")
        if name in chain:
            raise TemplateError("condition cycle: " + " -> ".join([*chain, name]))
        self.conditions[name] = self._truth(self._condition_defs[name], (*chain, name))
        return self.conditions[name]

    def _truth(self, expression: Any, chain: tuple[str, ...]) -> bool:
        if not (isinstance(expression, dict) and len(expression) == 1):
            raise TemplateError(f"{chain[-1]}: not a condition expression: {expression!r}")
        ((name, arg),) = expression.items()
        if name == "Condition":
            return self._condition(arg, chain)
        if name == "Fn::Equals":
            left, right = (_text(self._resolve(side, None)) for side in arg)
            return left == right
        if name == "Fn::Not":
            return not self._truth(arg[0], chain)
        if name == "Fn::And":
            return all(self._truth(item, chain) for item in arg)
        if name == "Fn::Or":
            return any(self._truth(item, chain) for item in arg)
        raise TemplateError(f"{chain[-1]}: {name} is not a condition function")

    def _references(self, value: Any) -> Iterator[str]:
        """Names referenced by Ref, GetAtt and Sub, following only the Fn::If branches taken."""
        if isinstance(value, list):
            for item in value:
                yield from self._references(item)
            return
        if not isinstance(value, dict):
            return
        if len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Ref" and isinstance(arg, str):
                yield arg
                return
            if name == "Fn::GetAtt":
                yield (arg.split(".", 1) if isinstance(arg, str) else arg)[0]
                return
            if name == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                for placeholder in _PLACEHOLDER.findall(text):
                    if not placeholder.startswith("!") and placeholder not in variables:
                        yield placeholder.split(".", 1)[0]
                yield from self._references(variables)
                return
            if name == "Fn::If":
                condition, when_true, when_false = arg
                yield from self._references(when_true if self._condition(condition) else when_false)
                return
        for item in value.values():
            yield from self._references(item)

    def _resource(self, logical_id: str, lookup: Lookup | None) -> Lookup:
        if logical_id not in self.resources:
            raise TemplateError(f"{logical_id!r} is not a resource, parameter or pseudo-parameter")
        if lookup is None:
            raise TemplateError(f"conditions cannot refer to the resource {logical_id!r}")
        return lookup

    def _ref(self, arg: Any, lookup: Lookup | None) -> Any:
        if arg == "AWS::NoValue":
            return _NO_VALUE
        if arg in self._pseudo:
            return self._pseudo[arg]
        if arg in self.parameters:
            return self.parameters[arg]
        return self._resource(arg, lookup).ref(arg)

    def _get_att(self, arg: Any, lookup: Lookup | None) -> Any:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        attribute = self._resolve(attribute, lookup)
        return self._resource(logical_id, lookup).get_att(logical_id, attribute)

    def _sub(self, arg: Any, lookup: Lookup | None) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        variables = self._resolve(variables, lookup)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name])
            if "." in name:
                return _text(self._get_att(name, lookup))
            return _text(self._ref(name, lookup))

        return _PLACEHOLDER.sub(replace, text)

    def _join(self, arg: Any, lookup: Lookup | None) -> str:
        delimiter, items = self._resolve(arg, lookup)
        return delimiter.join(_text(item) for item in items)

    def _select(self, arg: Any, lookup: Lookup | None) -> Any:
        index, items = self._resolve(arg, lookup)
        try:
            return items[int(index)]
        except IndexError:
            raise TemplateError(f"Fn::Select index {index} is out of range for {items!r}") from None

    def _split(self, arg: Any, lookup: Lookup | None) -> list[str]:
        delimiter, text = self._resolve(arg, lookup)
        return text.split(delimiter)

    def _if(self, arg: Any, lookup: Lookup | None) -> Any:
        condition, when_true, when_false = arg
        return self._resolve(when_true if self._condition(condition) else when_false, lookup)

    def _find_in_map(self, arg: Any, lookup: Lookup | None) -> Any:
        map_name, top_key, second_key = self._resolve(arg, lookup)
        try:
            return self._mappings[map_name][top_key][second_key]
        except KeyError:
            raise TemplateError(f"Fn::FindInMap: no {map_name}/{top_key}/{second_key}") from None

    def _base64(self, arg: Any, lookup: Lookup | None) -> str:
        return base64.b64encode(_text(self._resolve(arg, lookup)).encode()).decode()

    def _get_azs(self, arg: Any, lookup: Lookup | None) -> list[str]:
        region = self._resolve(arg, lookup) or self.region
        return [f"{region}{zone}" for zone in "abc"]

    def _import_value(self, arg: Any, lookup: Lookup | None) -> Any:
        raise TemplateError(
            f"Fn::ImportValue {arg!r} is not supported locally: the offline runtime deploys one "
            "stack, so no other stack exports values; pass the value in as a parameter instead"
        )


def substitute_definition(definition_string: str, substitutions: Mapping[str, Any]) -> str:
    """Apply a state machine's DefinitionSubstitutions; a placeholder without a value is an error.

    CloudFormation would leave an unmatched ``${Name}`` in the definition, where it only fails
    when an execution reaches it, so a typo is reported at deploy time instead.
    """
    missing = sorted(set(_PLACEHOLDER.findall(definition_string)) - set(substitutions))
    if missing:
        raise TemplateError(f"DefinitionSubstitutions has no value for: {', '.join(missing)}")

    def replace(match: re.Match[str]) -> str:
        value = substitutions[match.group(1)]
        return value if isinstance(value, str) else json.dumps(value)

    return _PLACEHOLDER.sub(replace, definition_string)


def load_template(
    path: str | Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    stack_name: str = "aigw-local",
) -> CfnTemplate:
    """Read, package and transform a SAM (or plain CloudFormation) template, all offline."""
    path = Path(path).resolve()
    if not path.is_file():
        raise TemplateError(f"template not found: {path}")
    template = _read_document(path, json_suffix=False)
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template: it has no Resources")
    base_dir = path.parent
    template = _inline_includes(template, base_dir, "")
    _apply_build_defaults(template)
    code_paths = _package_local_paths(template, base_dir)
    values = _parameter_values(template.get("Parameters") or {}, parameters or {})
    if "Transform" in template:
        template = _sam_transform(template, values, region, account_id, stack_name)
    return CfnTemplate(
        template,
        parameters=values,
        region=region,
        account_id=account_id,
        stack_name=stack_name,
        base_dir=base_dir,
        code_paths=code_paths,
    )


def _text(value: Any) -> str:
    """A scalar as CloudFormation writes it into a string (YAML booleans become true/false)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


#: For resources whose string properties CloudFormation converts (environment variables).
cfn_text = _text


def _read_document(path: Path, *, json_suffix: bool = True) -> Any:
    """A template or an included file, parsed; a file that does not parse is a TemplateError
    saying where (the template itself is YAML, of which JSON is a subset)."""
    text = path.read_text()
    if json_suffix and path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise TemplateError(f"{path} is not valid JSON: {error}") from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as error:
        parts = []
        for text_of, mark_of in (("context", "context_mark"), ("problem", "problem_mark")):
            said, mark = getattr(error, text_of, None), getattr(error, mark_of, None)
            if said:
                at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
                parts.append(f"{said}{at}")
        problem = ": ".join(parts) or str(error)
        raise TemplateError(f"{path} is not valid YAML: {problem}") from None


def parse_definition(text: str) -> Any:
    """A definition file's text, once substituted, as Step Functions' CloudFormation handler
    reads it: JSON, else YAML. Raises ValueError saying why neither reads it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as not_json:
        try:
            document = parse_yaml(text)  # timestamps stay the strings they are written as
        except yaml.YAMLError as not_yaml:
            raise ValueError(f"neither JSON ({not_json}) nor YAML ({not_yaml})") from None
        if not isinstance(document, dict):
            raise ValueError(f"neither JSON ({not_json}) nor a YAML mapping") from None
        return document


def _local_path(base_dir: Path, location: Any, where: str) -> Path:
    if not isinstance(location, str):
        raise TemplateError(f"{where}: expected a local path, got {location!r}")
    path = (base_dir / location).resolve()
    if not path.exists():
        raise TemplateError(f"{where}: {location!r} does not exist (looked for {path})")
    return path


def _inline_includes(node: Any, base_dir: Path, where: str) -> Any:
    """Replace each ``Fn::Transform: {Name: AWS::Include}`` with the local file it names."""
    if isinstance(node, list):
        return [_inline_includes(item, base_dir, f"{where}[{i}]") for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    prefix = f"{where}." if where else ""
    node = {key: _inline_includes(item, base_dir, prefix + key) for key, item in node.items()}
    spec = node.pop("Fn::Transform", None)
    if spec is None:
        return node
    if not isinstance(spec, dict) or spec.get("Name") != "AWS::Include":
        raise TemplateError(f"{where}: only the AWS::Include transform runs offline, not {spec!r}")
    location = (spec.get("Parameters") or {}).get("Location")
    if isinstance(location, str) and location.startswith("s3://"):
        raise TemplateError(f"{where}: AWS::Include must name a local file offline: {location}")
    included = _read_document(_local_path(base_dir, location, f"{where} (AWS::Include)"))
    return {**included, **node} if node else included


def _apply_build_defaults(template: dict[str, Any]) -> None:
    """Fill in what ``sam build`` gives a function the template leaves to it.

    A zip function with no code of its own or from ``Globals.Function.CodeUri`` is the
    template's directory. A container-image function as ``sam init`` writes it has only
    ``Metadata`` (Dockerfile, DockerContext, DockerTag): ``sam build`` builds the image and
    writes its URI as ``ImageUri``; here it gets the name of a local image so the translator
    accepts it, and the deployer reports the function as not run.
    """
    function_globals = (template.get("Globals") or {}).get("Function") or {}
    for logical_id, spec in template["Resources"].items():
        if not isinstance(spec, dict) or spec.get("Type") != "AWS::Serverless::Function":
            continue
        properties = spec.get("Properties")
        if properties is None:
            properties = spec["Properties"] = {}
        if not isinstance(properties, dict):
            continue
        if properties.get("PackageType") == "Image":
            if "ImageUri" not in properties:
                tag = (spec.get("Metadata") or {}).get("DockerTag") or "latest"
                properties["ImageUri"] = f"{logical_id.lower()}:{tag}"
        elif not {"CodeUri", "InlineCode"} & (set(properties) | set(function_globals)):
            properties["CodeUri"] = DEFAULT_CODE_URI


def _package_local_paths(template: dict[str, Any], base_dir: Path) -> dict[str, Path]:
    """Rewrite local code paths to S3 locations, as ``sam package`` does; return key -> path.

    A state machine's DefinitionUri file is "uploaded" too: the translator then emits a
    DefinitionS3Location, whose file the deployer reads as text and substitutes before
    parsing it, as CloudFormation does.
    """
    targets = [("Globals.Function", (template.get("Globals") or {}).get("Function"), "CodeUri")]
    for logical_id, spec in template["Resources"].items():
        properties = spec.get("Properties") or {}
        if spec.get("Type") == "AWS::Serverless::Function":
            targets.append((logical_id, properties, "CodeUri"))
        elif spec.get("Type") == "AWS::Serverless::LayerVersion":
            targets.append((logical_id, properties, "ContentUri"))
        elif spec.get("Type") == "AWS::Serverless::StateMachine":
            targets.append((logical_id, properties, "DefinitionUri"))
    code_paths: dict[str, Path] = {}
    for where, properties, name in targets:
        uri = (properties or {}).get(name)
        if isinstance(uri, str) and not uri.startswith("s3://"):
            path = _local_path(base_dir, uri, f"{where}.{name}")
            key = Path(os.path.relpath(path, base_dir)).as_posix()
            code_paths[key] = path
            properties[name] = {"Bucket": CODE_BUCKET, "Key": key}
    return code_paths


def _parameter_values(declared: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values as CloudFormation sees them: strings, or lists for list types."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"parameters not declared in the template: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            raw = given[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"parameter {name!r} has no Default and no value was given")
        kind = spec.get("Type", "String")
        is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
        if isinstance(raw, list):
            raw = ",".join(_text(item) for item in raw)
        items = [item.strip() for item in _text(raw).split(",")] if is_list else [_text(raw)]
        if "AllowedValues" in spec:
            allowed = [_text(value) for value in spec["AllowedValues"]]
            if bad := [item for item in items if item not in allowed]:
                raise TemplateError(f"parameter {name!r}: {bad} not in AllowedValues {allowed}")
        if "AllowedPattern" in spec:
            pattern = re.compile(_text(spec["AllowedPattern"]))
            if bad := [item for item in items if not pattern.fullmatch(item)]:
                rule = spec.get("ConstraintDescription") or f"AllowedPattern {pattern.pattern}"
                raise TemplateError(f"parameter {name!r}: {bad} does not match: {rule}")
        values[name] = items if is_list else items[0]
    return values


class _NoManagedPolicies:
    """Managed policy names are not looked up in IAM offline; the translator builds their ARNs."""

    def load(self) -> dict[str, str]:
        return {}


@contextmanager
def _default_region(region: str) -> Iterator[None]:
    """The translator asks boto3 for a region; give it ours without leaking into os.environ."""
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def _sam_transform(
    template: dict[str, Any],
    parameters: dict[str, Any],
    region: str,
    account_id: str,
    stack_name: str,
) -> dict[str, Any]:
    declared = template["Transform"]
    transforms = declared if isinstance(declared, list) else [declared]
    if unsupported := [name for name in transforms if name != SAM_TRANSFORM]:
        raise TemplateError(f"only the {SAM_TRANSFORM} transform runs offline, not {unsupported}")
    values = {
        **parameters,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::Partition": "aws",
    }
    try:
        with _default_region(region):
            return transform(deepcopy(template), values, _NoManagedPolicies())
    except InvalidDocumentException as error:
        messages = "; ".join(cause.message for cause in error.causes)
        raise TemplateError(f"SAM transform failed: {messages}") from error
    except ExceptionWithMessage as error:
        raise TemplateError(f"SAM transform failed: {error.message}") from error
