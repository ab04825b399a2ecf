"""Salesforce: Outbound Messages (SOAP, acknowledged with `<Ack>true</Ack>`) and Flow callouts."""
