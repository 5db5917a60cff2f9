"""CRM sync: the hub's synced records kept in step with HubSpot and Salesforce both ways (issue 14)."""
