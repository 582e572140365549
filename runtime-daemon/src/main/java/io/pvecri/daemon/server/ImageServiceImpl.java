package io.pvecri.daemon.server;

import io.pvecri.daemon.util.Times;
import io.pvecri.proto.cri.v1.Int64Value;
import io.grpc.stub.StreamObserver;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.rootfs.RootfsException;
import io.pvecri.daemon.rootfs.RootfsFormat;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.image.FsUsage;
import io.pvecri.image.ImageGc;
import io.pvecri.image.ImageRecord;
import io.pvecri.image.ImageNotFoundException;
import io.pvecri.image.ImageStore;
import io.pvecri.image.PullResult;
import io.pvecri.image.RegistryAuth;
import io.pvecri.image.RegistryPuller;
import io.pvecri.proto.cri.v1.AuthConfig;
import io.pvecri.proto.cri.v1.FilesystemIdentifier;
import io.pvecri.proto.cri.v1.FilesystemUsage;
import io.pvecri.proto.cri.v1.Image;
import io.pvecri.proto.cri.v1.ImageFilter;
import io.pvecri.proto.cri.v1.ImageFsInfoRequest;
import io.pvecri.proto.cri.v1.ImageFsInfoResponse;
import io.pvecri.proto.cri.v1.ImageServiceGrpc;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.ImageStatusRequest;
import io.pvecri.proto.cri.v1.ImageStatusResponse;
import io.pvecri.proto.cri.v1.ListImagesRequest;
import io.pvecri.proto.cri.v1.ListImagesResponse;
import io.pvecri.proto.cri.v1.PullImageRequest;
import io.pvecri.proto.cri.v1.PullImageResponse;
import io.pvecri.proto.cri.v1.RemoveImageRequest;
import io.pvecri.proto.cri.v1.RemoveImageResponse;
import io.pvecri.proto.cri.v1.StreamImagesRequest;
import io.pvecri.proto.cri.v1.StreamImagesResponse;

import java.nio.file.Path;
import java.util.List;

/** CRI ImageService over the image cache: registry pulls, imported images, removal, usage. */
final class ImageServiceImpl extends ImageServiceGrpc.ImageServiceImplBase {

    private final ImageStore images;
    private final ImageGc gc;
    private final Path imagesDir;
    private final Path containersDir;
    private final RegistryPuller puller;
    private final RootfsFormat rootfsFormat;

    ImageServiceImpl(ImageStore images, ImageGc gc, Path imagesDir, Path containersDir, RegistryPuller puller, RootfsFormat rootfsFormat) {
        this.images = images;
        this.gc = gc;
        this.imagesDir = imagesDir;
        this.containersDir = containersDir;
        this.puller = puller;
        this.rootfsFormat = rootfsFormat;
    }

    @Override
    public void listImages(ListImagesRequest req, StreamObserver<ListImagesResponse> out) {
        Rpc.unary("ListImages", out, () -> ListImagesResponse.newBuilder().addAllImages(list(req.getFilter())).build());
    }

    @Override
    public void streamImages(StreamImagesRequest req, StreamObserver<StreamImagesResponse> out) {
        Rpc.pages("StreamImages", out, () -> list(req.getFilter()), 500, page -> StreamImagesResponse.newBuilder().addAllImages(page).build());
    }

    private List<Image> list(ImageFilter f) {
        String ref = f.getImage().getImage();
        if (!ref.isEmpty()) {
            return images.resolve(ref).map(ImageServiceImpl::image).stream().toList();
        }
        return images.list().stream().map(ImageServiceImpl::image).toList();
    }

    @Override
    public void imageStatus(ImageStatusRequest req, StreamObserver<ImageStatusResponse> out) {
        Rpc.unary("ImageStatus", out, () -> {
            String ref = req.getImage().getImage();
            if (ref.isEmpty()) {
                throw CriException.invalid("image must not be empty");
            }
            ImageStatusResponse.Builder b = ImageStatusResponse.newBuilder();
            images.resolve(ref).ifPresent(r -> {
                b.setImage(image(r));
                if (req.getVerbose()) {
                    b.putInfo("info", "{\"platform\":\"" + r.platform() + "\",\"references\":" + r.references()
                            + ",\"rootfs\":\"" + imagesDir + "\"}");
                }
            });
            return b.build();
        });
    }

    /**
     * Pulls from the image's registry (mirrors and per-registry settings from the config) with the
     * request's credentials. Returns the image id (config digest) as image_ref, as containerd does.
     * A pull of an image already present transfers no layer. Progress is logged and counted by
     * the puller's listener (metrics.ImagePullMetrics).
     */
    @Override
    public void pullImage(PullImageRequest req, StreamObserver<PullImageResponse> out) {
        Rpc.unary("PullImage", out, () -> {
            String ref = req.getImage().getImage();
            if (ref.isEmpty()) {
                throw CriException.invalid("image must not be empty");
            }
            AuthConfig a = req.getAuth();
            RegistryAuth auth = RegistryAuth.fromCri(a.getUsername(), a.getPassword(), a.getAuth(),
                    a.getIdentityToken(), a.getRegistryToken());
            PullResult r = puller.pull(ref, auth);
            return PullImageResponse.newBuilder().setImageRef(r.image().id()).build();
        });
    }

    /**
     * Removes the image and the blobs no other image uses, as a garbage collection run of trigger
     * {@code remove_image} (logged and counted by metrics.ImageGcMetrics; removal listeners told).
     * An image containers use is FailedPrecondition.
     */
    @Override
    public void removeImage(RemoveImageRequest req, StreamObserver<RemoveImageResponse> out) {
        Rpc.unary("RemoveImage", out, () -> {
            String ref = req.getImage().getImage();
            if (ref.isEmpty()) {
                throw CriException.invalid("image must not be empty");
            }
            try {
                gc.removeImage(ref);
            } catch (ImageNotFoundException e) {
                // Idempotent, as CRI asks: an image that is already gone is fine.
            }
            return RemoveImageResponse.getDefaultInstance();
        });
    }

    @Override
    public void imageFsInfo(ImageFsInfoRequest req, StreamObserver<ImageFsInfoResponse> out) {
        Rpc.unary("ImageFsInfo", out, () -> {
            long ts = Times.nowNanos();
            FsUsage store = images.usage();
            FileTrees.Usage artefacts = rootfsFormat.imageUsage();
            FsUsage img = new FsUsage(store.mountpoint(), store.usedBytes() + artefacts.bytes(), store.inodesUsed() + artefacts.inodes());
            FileTrees.Usage inDir = FileTrees.usage(containersDir);
            FileTrees.Usage outside = rootfsFormat.layersOutsideContainersDir();
            FileTrees.Usage ctr = new FileTrees.Usage(inDir.bytes() + outside.bytes(), inDir.inodes() + outside.inodes());
            return ImageFsInfoResponse.newBuilder()
                    .addImageFilesystems(FilesystemUsage.newBuilder().setTimestamp(ts)
                            .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(img.mountpoint().toString()))
                            .setUsedBytes(CriMapper.u64(img.usedBytes())).setInodesUsed(CriMapper.u64(img.inodesUsed())))
                    .addContainerFilesystems(FilesystemUsage.newBuilder().setTimestamp(ts)
                            .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(containersDir.toString()))
                            .setUsedBytes(CriMapper.u64(ctr.bytes())).setInodesUsed(CriMapper.u64(ctr.inodes())))
                    .build();
        });
    }

    static Image image(ImageRecord r) {
        Image.Builder b = Image.newBuilder().setId(r.id()).addAllRepoTags(r.repoTags()).addAllRepoDigests(r.repoDigests())
                .setSize(r.size()).setSpec(ImageSpec.newBuilder().setImage(r.id()));
        String user = r.config().user() == null ? "" : r.config().user().split(":", 2)[0];
        if (!user.isEmpty() && user.chars().allMatch(Character::isDigit) && user.length() < 12) {
            b.setUid(Int64Value.newBuilder().setValue(Long.parseLong(user)));
        } else if (!user.isEmpty()) {
            b.setUsername(user);
        }
        return b.build();
    }
}
