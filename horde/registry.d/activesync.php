<?php
/**
 * horde-activesync's optional Horde extension (see the project README,
 * "Horde extension"). Copy to /etc/horde/horde/registry.d/activesync.php and
 * the horde/activesync folder of the project to the fileroot below, then
 * `touch /etc/horde/horde/registry.d` so Horde drops its cached registry.
 *
 * 'hidden': the application is active (its API answers) but shows in no
 * menu or application list of the web interface.
 */
$this->applications['activesync'] = array(
    'fileroot' => '/usr/local/share/horde-activesync/activesync',
    'name' => 'horde-activesync extension',
    'status' => 'hidden',
    'provides' => 'activesync',
);
