"""Pipedrive: a preset for webhooks v2 (basic auth), deduplicated on `meta.id`, and the
`pipedrive_person` write-back (a note on the person, optionally a done call activity)."""

from integrations.pipedrive.integration import PipedriveIntegration

integration = PipedriveIntegration()
