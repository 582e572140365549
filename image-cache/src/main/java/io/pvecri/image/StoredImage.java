package io.pvecri.image;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The persisted form of an image ({@code images/<hex>/image.json}): the public record plus what
 * the store needs internally (blobs it owns, rootfs usage, whether a newer image took its last
 * tag).
 *
 * <p>{@code superseded}: the image lost its last tag because the tag moved to another image
 * (a pull or import of a newer image under the same name). Such an image is garbage as soon as
 * no container uses it ({@link ImageGc}, trigger {@link GcTrigger#TAG_MOVED}). Pulling or
 * importing the image again clears the flag. Records written before the field existed read as
 * {@code false}.
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
        long rootfsInodes,
        boolean superseded) {

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
                used == null ? lastUsed : used.toString(), importedAt, blobs, rootfsBytes, rootfsInodes, superseded);
    }

    /**
     * Without {@code tag}; an image that loses its last tag this way is marked superseded (the
     * tag moved to a newer image).
     */
    StoredImage withoutTag(String tag) {
        List<String> tags = new ArrayList<>(repoTags);
        boolean removed = tags.remove(tag);
        return new StoredImage(schemaVersion, id, tags, repoDigests, size, config, platform, references,
                lastUsed, importedAt, blobs, rootfsBytes, rootfsInodes, superseded || (removed && tags.isEmpty()));
    }

    /**
     * Adds names and blobs of a re-import (or pull) of the same image: last used is now, and the
     * image is wanted again, so no longer superseded.
     */
    StoredImage merged(List<String> tags, List<String> digests, Set<Digest> moreBlobs, Instant now) {
        Set<String> t = new LinkedHashSet<>(repoTags);
        t.addAll(tags);
        Set<String> d = new LinkedHashSet<>(repoDigests);
        d.addAll(digests);
        Set<String> b = new LinkedHashSet<>(blobs);
        moreBlobs.forEach(x -> b.add(x.toString()));
        return new StoredImage(schemaVersion, id, List.copyOf(t), List.copyOf(d), size, config, platform,
                references, now.toString(), importedAt, List.copyOf(b), rootfsBytes, rootfsInodes, false);
    }

    /** Whether the image has no repo tag (dangling); such images go first in garbage collection. */
    boolean untagged() {
        return repoTags.isEmpty();
    }
}
