"""What a live source is given, the same for ``twinbench live`` and the workbench's
*Connect to plant…*: the options of :func:`twin.live.feed.open_source` for a kind of source,
the mapping file and the OPC UA security."""

from __future__ import annotations

#: OPC UA security as the user names it -> as the OPC UA source names the mode.
SECURITY = {"sign-encrypt": "SignAndEncrypt", "sign": "Sign", "none": "None"}


def source_options(kind: str, mapping_path: str | None, mapping: dict | None,
                   project_name: str, security: str = "sign-encrypt",
                   certificate: str | None = None, private_key: str | None = None,
                   trust_dir: str | None = None) -> dict:
    """Options for the source of ``kind`` (``"mqtt"``, ``"opcua"`` or ``"other"``): for MQTT
    the mapping file and the project's name (its persistent session's client id, the same on
    every run); for OPC UA the security, the certificate files and the mapping's
    ``live.opcua`` section (``nodes``, ``state_codes``).

    Raises
    ------
    LiveError
        For an unknown security or a ``live.opcua`` section that is not an object.
    """
    from twin.live.feed import LiveError  # the command names SECURITY before any source loads

    if kind == "mqtt":
        return {"project": project_name,
                **({} if mapping_path is None else {"mapping": mapping_path})}
    if kind != "opcua":
        return {} if mapping_path is None else {"mapping": mapping_path}
    if security not in SECURITY:
        raise LiveError(f"security {security!r}: choose one of {', '.join(SECURITY)}")
    options = {"security": SECURITY[security]}
    for key, value in (("certificate", certificate), ("private_key", private_key),
                       ("trust_dir", trust_dir)):
        if value is not None:
            options[key] = value
    section = ((mapping or {}).get("live") or {}).get("opcua") or {}
    if not isinstance(section, dict):
        raise LiveError(f"mapping {mapping_path}: live.opcua must be an object with nodes and "
                        "state_codes")
    options.update({k: section[k] for k in ("nodes", "state_codes") if k in section})
    return options
