# Site set-up before the project is installed (e.g. a private package index).
echo "spark demo pre-init in $PROJECT_HOME" > "${INIT_LOG:-/dev/null}"
