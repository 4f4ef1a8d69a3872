# Makefile fragment for the task images (include it from the top-level Makefile:
#   include images/images.mk
# ). Needs buildah (Debian package `buildah`); builds from scratch, no registry.
IMAGE_TAG ?= 0.1.0
# Empty: every image whose Go main exists; else e.g. IMAGES="generate pipeline".
IMAGES ?=

.PHONY: images images-smoke

# Build localhost/telcotraffic/<name>:$(IMAGE_TAG) for each image.
images:
	./images/build.sh --tag $(IMAGE_TAG) $(IMAGES)

# Build, then run each image's program with --help inside the image (buildah run).
images-smoke:
	./images/build.sh --smoke --tag $(IMAGE_TAG) $(IMAGES)
