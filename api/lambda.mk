# make lambda — build/lambda.zip for an AWS Lambda function on the
# provided.al2023 runtime: `bootstrap` (runs onesheet-api --lambda), the
# binary, and lib/ with the shared libraries it needs beyond glibc (found
# with ldd).  Build on a system whose glibc is not newer than AL2023's
# (2.34), e.g. in an amazonlinux:2023 container, for the binary to load
# there.  Included from the Makefile (`include api/lambda.mk`).
LAMBDA_DIR := build/lambda
LAMBDA_ZIP := build/lambda.zip

.PHONY: lambda
lambda: $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(BIN)/onesheet-api api/lambda.mk tools/lambda-zip.py
	@rm -rf $(LAMBDA_DIR) && mkdir -p $(LAMBDA_DIR)/lib
	cp $(BIN)/onesheet-api $(LAMBDA_DIR)/onesheet-api
	printf '#!/bin/sh\ncd "$${LAMBDA_TASK_ROOT:-$$(dirname "$$0")}" || exit 1\nLD_LIBRARY_PATH=$$PWD/lib$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} exec ./onesheet-api --lambda "$$@"\n' \
	    > $(LAMBDA_DIR)/bootstrap
	chmod 0755 $(LAMBDA_DIR)/bootstrap $(LAMBDA_DIR)/onesheet-api
	ldd $(BIN)/onesheet-api | awk '$$3 ~ /^\// {print $$3}' | \
	    grep -vE '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*)\.so' | \
	    xargs -r -I{} cp -L {} $(LAMBDA_DIR)/lib/
	python3 tools/lambda-zip.py $@ $(LAMBDA_DIR)
	@echo "built $@"
