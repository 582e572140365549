package io.pvecri.image;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The persisted form of an image ({@code images/<hex>/image.json}): the public record plus what
 * the store needs internally (blobs it owns, rootfs usage).
 */
record StoredImage(
        int schemaVersion,
        String id,
        List<String> repoTags,
        List<String> repoDigests,
        long size,
        ImageConfig config,
        String platform,
        int references,
        String lastUsed,
        String importedAt,
        List<String> blobs,
        long rootfsBytes,
        long rootfsInodes) {

    static final int SCHEMA_VERSION = 1;

    StoredImage {
        Objects.requireNonNull(id, "id");
        repoTags = repoTags == null ? List.of() : List.copyOf(repoTags);
        repoDigests = repoDigests == null ? List.of() : List.copyOf(repoDigests);
        blobs = blobs == null ? List.of() : List.copyOf(blobs);
        config = config == null ? ImageConfig.empty() : config;
        Objects.requireNonNull(lastUsed, "lastUsed");
        Objects.requireNonNull(importedAt, "importedAt");
    }

    ImageRecord toRecord() {
        return new ImageRecord(id, repoTags, repoDigests, size, config, platform, references,
                Instant.parse(lastUsed), Instant.parse(importedAt));
    }

    String hex() {
        return id.substring(id.indexOf(':') + 1);
    }

    Set<Digest> blobDigests() {
        Set<Digest> out = new LinkedHashSet<>();
        for (String b : blobs) {
            out.add(new Digest(b.substring(b.indexOf(':') + 1)));
        }
        return out;
    }

    StoredImage withReferences(int refs, Instant used) {
        return new StoredImage(schemaVersion, id, repoTags, repoDigests, size, config, platform, refs,
                used == null ? lastUsed : used.toString(), importedAt, blobs, rootfsBytes, rootfsInodes);
    }

    StoredImage withoutTag(String tag) {
        List<String> tags = new ArrayList<>(repoTags);
        tags.remove(tag);
        return new StoredImage(schemaVersion, id, tags, repoDigests, size, config, platform, references,
                lastUsed, importedAt, blobs, rootfsBytes, rootfsInodes);
    }

    /** Adds names and blobs of a re-import of the same image. */
    StoredImage merged(List<String> tags, List<String> digests, Set<Digest> moreBlobs) {
        Set<String> t = new LinkedHashSet<>(repoTags);
        t.addAll(tags);
        Set<String> d = new LinkedHashSet<>(repoDigests);
        d.addAll(digests);
        Set<String> b = new LinkedHashSet<>(blobs);
        moreBlobs.forEach(x -> b.add(x.toString()));
        return new StoredImage(schemaVersion, id, List.copyOf(t), List.copyOf(d), size, config, platform,
                references, lastUsed, importedAt, List.copyOf(b), rootfsBytes, rootfsInodes);
    }
}
