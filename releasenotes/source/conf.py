# SPDX-License-Identifier: Apache-2.0
project = 'Craton release notes'
extensions = ['reno.sphinxext']
master_doc = 'index'
html_theme = 'alabaster'
