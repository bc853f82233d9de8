# The image deploy/compose.yaml builds for `gridwatch gateway` and `gridwatch api`: the wheel
# of this checkout in a venv at the path the systemd units use. (Not built in CI: the test
# machines have no Docker engine; tests/integration/test_deployment.py runs the same commands.)
FROM python:3.11-slim
COPY . /src
RUN python -m venv /opt/gridwatch/.venv \
 && /opt/gridwatch/.venv/bin/pip install --no-cache-dir /src \
 && rm -rf /src \
 && useradd --system --home-dir /var/lib/gridwatch --create-home gridwatch
ENV PATH=/opt/gridwatch/.venv/bin:$PATH
USER gridwatch
WORKDIR /var/lib/gridwatch
