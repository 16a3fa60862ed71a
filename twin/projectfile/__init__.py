"""The project file: ``project.json`` read, checked, migrated, scenario-applied and written.

``reader`` turns a JSON document into a ``twin.model.elements.Project`` and collects every
problem with its JSON path (``load_project``, ``project_from_json``, ``with_scenario``);
``writer`` saves a project back as human-diffable JSON through a safe temp-file rename;
``meshes`` checks and imports a station's mesh file; ``files`` lists the files a project
names beside it and copies them on Save As; ``project.schema.json`` is the JSON
Schema the reader agrees with (``docs/project-format.md``).
"""
