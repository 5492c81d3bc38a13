# SPDX-License-Identifier: Apache-2.0
# Sphinx configuration for the Craton documentation.
#
# Plain Sphinx with the alabaster theme (shipped with Sphinx), so the docs
# build without openstackdocstheme: tox -e docs, or
#   sphinx-build -W -b html doc/source doc/build/html

project = 'Craton'
copyright = 'Craton developers'
author = 'Craton developers'

extensions = []

root_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = ['_build']

# Shell, ini and JSON snippets are marked per block; plain literal blocks
# are not highlighted.
highlight_language = 'none'
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_title = 'Craton documentation'
html_theme_options = {
    'description': 'Container workflows on inventory hosts',
    'fixed_sidebar': True,
}
html_static_path = []
html_show_sourcelink = False
