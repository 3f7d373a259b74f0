# After the project is installed.
echo "spark demo post-init" >> "${INIT_LOG:-/dev/null}"
