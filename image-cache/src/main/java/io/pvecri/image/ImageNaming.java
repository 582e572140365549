package io.pvecri.image;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the names found in a source plus the caller's optional name into normalised repo tags
 * and repo digests per image.
 *
 * <ul>
 * <li>full names (RepoTags, {@code io.containerd.image.name}, full {@code ref.name}) are used as they are;</li>
 * <li>tag-only {@code ref.name} annotations are combined with the repository of the given name,
 *     and ignored without one;</li>
 * <li>a given name is also added as a tag when the source holds a single image.</li>
 * </ul>
 */
final class ImageNaming {

    private static final System.Logger LOG = System.getLogger(ImageNaming.class.getName());

    record Named(ImageCandidate candidate, List<String> repoTags, List<String> repoDigests) {
    }

    private ImageNaming() {
    }

    static List<Named> apply(List<ImageCandidate> candidates, Optional<String> name, String source)
            throws InvalidImageException {
        ImageReference given = null;
        if (name.isPresent()) {
            given = ImageReference.parse(name.get());
            if (given.digest().isPresent()) {
                throw new InvalidImageException("image name '" + name.get()
                        + "' must not contain a digest; the digest of an imported image is computed from its content");
            }
            boolean anyTagOnly = candidates.stream().flatMap(c -> c.names().stream())
                    .anyMatch(n -> n instanceof ImageCandidate.ImageName.TagOnly);
            if (candidates.size() > 1 && !anyTagOnly) {
                throw new InvalidImageException(source + " holds " + candidates.size()
                        + " images; a name can only be given for an archive with a single image");
            }
        }
        List<Named> out = new ArrayList<>();
        for (ImageCandidate c : candidates) {
            Set<String> tags = new LinkedHashSet<>();
            Set<String> repos = new LinkedHashSet<>();
            for (ImageCandidate.ImageName n : c.names()) {
                switch (n) {
                    case ImageCandidate.ImageName.Full f -> {
                        f.reference().taggedName().ifPresent(tags::add);
                        repos.add(f.reference().repository());
                    }
                    case ImageCandidate.ImageName.TagOnly t -> {
                        if (given != null) {
                            tags.add(given.repository() + ":" + t.tag());
                            repos.add(given.repository());
                        } else {
                            LOG.log(System.Logger.Level.INFO, "{0}: image {1} is annotated with tag ''{2}'' only; "
                                    + "give a name to import it under a repository", source, c.id(), t.tag());
                        }
                    }
                }
            }
            if (given != null && candidates.size() == 1) {
                tags.add(given.taggedName().orElseThrow());
                repos.add(given.repository());
            }
            List<String> digests = repos.stream().map(r -> r + "@" + c.pinDigest()).toList();
            out.add(new Named(c, List.copyOf(tags), digests));
        }
        return out;
    }
}
