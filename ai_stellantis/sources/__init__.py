"""The Stellantis public endpoints as paged sub-resources for the raw tier."""
