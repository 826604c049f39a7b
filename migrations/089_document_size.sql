-- 089: the size limit of a document (32 MiB, STPM_PROJECT_MAX_DOCUMENT in stpm/project.h)
-- holds in the server too: stpm.document_attach and stpm.document_attach_many (088) take
-- any bytea, so a caller going around the client could store more. Every row there is
-- today was checked by the client, so the constraint is valid for them.
ALTER TABLE stpm.documents ADD CONSTRAINT documents_size_limit CHECK (size <= 33554432);

SELECT stpm.door_close();
