"""What a live source is given, the same for ``twinbench live`` and the workbench's
*Connect to plant…*: the options of :func:`twin.live.feed.open_source` for a kind of source,
the mapping file and the OPC UA security."""

from __future__ import annotations

from pathlib import Path

#: MQTT versions: 5 (the default: session expiry, flow control, the msg-id property) or 3.1.1
#: (for brokers without 5; and paho reads it with about a quarter less CPU a message).
MQTT_PROTOCOLS = ("5", "3.1.1")
#: OPC UA security as the user names it -> as the OPC UA source names the mode.
SECURITY = {"sign-encrypt": "SignAndEncrypt", "sign": "Sign", "none": "None"}


def source_options(kind: str, mapping_path: str | None, mapping: dict | None,
                   project_name: str, security: str = "sign-encrypt",
                   certificate: str | None = None, private_key: str | None = None,
                   trust_dir: str | None = None, protocol: str | None = None,
                   program: str = "live") -> dict:
    """Options for the source of ``kind`` (``"mqtt"``, ``"opcua"`` or ``"other"``): for MQTT
    the mapping file, the project's name and ``program`` (``"live"``, ``"gui"``: its
    persistent session's client id, the same on every run, one per program) and the
    protocol (:data:`MQTT_PROTOCOLS`; ``None``: the source's default); for OPC UA the
    security, the certificate files and the mapping's ``live.opcua`` section
    (``nodes``, ``state_codes``).

    Raises
    ------
    LiveError
        For an unknown security or protocol or a ``live.opcua`` section that is not an
        object.
    """
    from twin.live.feed import LiveError  # the command names SECURITY before any source loads

    if kind == "mqtt":
        if protocol is not None and protocol not in MQTT_PROTOCOLS:
            raise LiveError(f"MQTT protocol {protocol!r}: choose one of "
                            f"{', '.join(MQTT_PROTOCOLS)}")
        return {"project": project_name, "program": program,
                **({} if mapping_path is None else {"mapping": mapping_path}),
                **({} if protocol is None else {"protocol": protocol})}
    if kind != "opcua":
        return {} if mapping_path is None else {"mapping": mapping_path}
    options = {"security": SECURITY[security]}
    for key, value in check_security(security, certificate, private_key, trust_dir).items():
        if value is not None:
            options[key] = value
    section = ((mapping or {}).get("live") or {}).get("opcua") or {}
    if not isinstance(section, dict):
        raise LiveError(f"mapping {mapping_path}: live.opcua must be an object with nodes and "
                        "state_codes")
    options.update({k: section[k] for k in ("nodes", "state_codes") if k in section})
    return options


def check_security(security: str, certificate: str | None = None,
                   private_key: str | None = None, trust_dir: str | None = None
                   ) -> dict[str, str | None]:
    """The OPC UA security files as given (blank -> ``None``), checked before connecting:
    ``security`` one of :data:`SECURITY`; the client certificate and its private key given
    together (or neither: twinbench makes its own) and existing files; the folder of trusted
    server certificates an existing folder; no files with ``none``.

    Raises
    ------
    LiveError
        Naming the value and what to do.
    """
    from twin.live.feed import LiveError

    if security not in SECURITY:
        raise LiveError(f"security {security!r}: choose one of {', '.join(SECURITY)}")
    files = {k: (str(v).strip() or None) if v is not None else None for k, v in
             (("certificate", certificate), ("private_key", private_key),
              ("trust_dir", trust_dir))}
    given = [k for k, v in files.items() if v]
    if security == "none" and given:
        raise LiveError(f"security none uses no {' or '.join(_NAMES[k] for k in given)}: "
                        "choose sign or sign-encrypt, or clear them")
    if (files["certificate"] is None) != (files["private_key"] is None):
        raise LiveError("give both the client certificate and its private key, or neither "
                        "(twinbench then makes its own certificate on first use)")
    for key in ("certificate", "private_key"):
        if files[key] is not None and not Path(files[key]).is_file():
            raise LiveError(f"{_NAMES[key]} {files[key]}: "
                            f"{'is a folder' if Path(files[key]).is_dir() else 'no such file'};"
                            f" give the {_FORMS[key]}")
    folder = files["trust_dir"]
    if folder is not None and not Path(folder).is_dir():
        raise LiveError(f"{_NAMES['trust_dir']} {folder}: no such folder; create it and copy "
                        "the server's certificate into it (or leave it blank: trusted/ beside "
                        "twinbench's own certificate)")
    return files


_NAMES = {"certificate": "client certificate", "private_key": "private key",
          "trust_dir": "trusted-servers folder"}
_FORMS = {"certificate": "client certificate file (DER or PEM)",
          "private_key": "private key file (PEM) of that certificate"}
