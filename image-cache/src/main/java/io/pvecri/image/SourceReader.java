package io.pvecri.image;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** Decides what kind of image source this is and collects its images, one candidate per image id. */
final class SourceReader {

    private SourceReader() {
    }

    static List<ImageCandidate> read(ImportSource source, Predicate<Digest> inStore)
            throws InvalidImageException, IOException {
        CandidateBuilder builder = new CandidateBuilder(source, inStore);
        List<ImageCandidate> found;
        if (OciLayoutReader.isLayout(source)) {
            found = new OciLayoutReader(builder).read();
            if (DockerArchiveReader.isDockerArchive(source)) {
                found = withDockerRepoTags(found, new DockerArchiveReader(builder).repoTagsByConfig());
            }
        } else if (DockerArchiveReader.isDockerArchive(source)) {
            found = new DockerArchiveReader(builder).read();
        } else {
            throw new InvalidImageException(source.describe() + " is neither an OCI image layout (oci-layout and "
                    + "index.json) nor a docker-archive (manifest.json)");
        }
        Map<Digest, ImageCandidate> byId = new LinkedHashMap<>();
        for (ImageCandidate c : found) {
            byId.merge(c.id(), c, ImageCandidate::mergedWith);
        }
        if (byId.isEmpty()) {
            throw new InvalidImageException(source.describe() + " contains no image for " + HostPlatform.describe());
        }
        return List.copyOf(byId.values());
    }

    private static List<ImageCandidate> withDockerRepoTags(List<ImageCandidate> found,
                                                           Map<Digest, List<ImageCandidate.ImageName>> tags) {
        List<ImageCandidate> out = new ArrayList<>();
        for (ImageCandidate c : found) {
            List<ImageCandidate.ImageName> extra = tags.getOrDefault(c.id(), List.of());
            out.add(extra.isEmpty() ? c : c.mergedWith(new ImageCandidate(c.id(), c.pinDigest(), List.of(),
                    c.config(), c.configSize(), c.layers(), extra)));
        }
        return out;
    }
}
