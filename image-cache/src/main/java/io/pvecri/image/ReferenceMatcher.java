package io.pvecri.image;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Resolves what a user may type to an image, in crictl's order: image id (full, bare hex, or
 * unique prefix of at least 3 hex characters), then a name ({@code busybox},
 * {@code busybox:1.36}, {@code reg.local:5000/a/b:t}) or digest reference ({@code name@sha256:...}).
 */
final class ReferenceMatcher {

    private static final Pattern HEX_PREFIX = Pattern.compile("[a-f0-9]{3,64}");

    private ReferenceMatcher() {
    }

    static Optional<StoredImage> resolve(Collection<StoredImage> images, String reference) {
        if (reference == null || reference.isBlank()) {
            return Optional.empty();
        }
        String ref = reference.strip();
        String idPart = ref.startsWith(Digest.ALGORITHM + ":") ? ref.substring(Digest.ALGORITHM.length() + 1) : ref;
        if (HEX_PREFIX.matcher(idPart).matches()) {
            List<StoredImage> hits = images.stream().filter(i -> i.hex().startsWith(idPart)).limit(2).toList();
            if (hits.size() == 1) {
                return Optional.of(hits.getFirst());
            }
        }
        if (ref.startsWith(Digest.ALGORITHM + ":")) {
            return Optional.empty();
        }
        ImageReference parsed;
        try {
            parsed = ImageReference.parse(ref);
        } catch (InvalidImageException e) {
            return Optional.empty();
        }
        if (parsed.digestName().isPresent()) {
            String want = parsed.digestName().get();
            return images.stream().filter(i -> i.repoDigests().contains(want)).findFirst();
        }
        String want = parsed.taggedName().orElseThrow();
        return images.stream().filter(i -> i.repoTags().contains(want)).findFirst();
    }

    /** Strict id lookup: {@code sha256:<hex>} or the bare 64 hex characters. */
    static Optional<String> idHex(String imageId) {
        if (imageId == null) {
            return Optional.empty();
        }
        String hex = imageId.startsWith(Digest.ALGORITHM + ":") ? imageId.substring(Digest.ALGORITHM.length() + 1) : imageId;
        return Digest.isHex64(hex) ? Optional.of(hex) : Optional.empty();
    }
}
